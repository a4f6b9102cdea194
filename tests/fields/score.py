#!/usr/bin/python3
"""score.py — score header-field extraction (fields_cli output) against truth.

    score.py SET TRUTH OUTPUT.jsonl [--kind gen|corpus|real] [--verbose]

SET names the set in the report.  TRUTH is
  gen     tests/fields/gen.py's truth.json ({"pages": [{file, part, kind,
          fields}]})
  corpus  ../shared/corpus/truth.json: the fields of each dossier's first
          page are parsed from its header lines ("UBND … CỘNG HÒA …",
          "SỞ … Độc lập …", "Số: N/NOT Place, ngày D tháng M năm Y", TYPE);
          every other logical page is a continuation page
  real    tests/fields/real-truth.json ({"pages": [{file, frame, part, kind,
          fields}]})
OUTPUT is what fields_cli printed (one JSON object per page part).

Per field: exact-match accuracy over the first pages, after NFC and
whitespace normalisation (a null truth must be matched by null), and the
same after folding (lower case, marks removed, đ → d).  Start detection:
a page counts as "start" when start_conf >= 0.5; precision and recall of
that against the truth's first pages (blank backs and continuation pages
are the negatives).  Timing: mean ms of sh_fields_extract per page.
Prints a table, and a JSON summary line starting with "JSON ".
"""
import argparse
import json
import re
import sys
import unicodedata

FIELDS = ["organ_parent", "organ_name", "code_number", "code_notation",
          "place", "issued_date", "type_name", "subject"]
THRESHOLD = 0.5

TYPE_NAMES = {
    "QUYẾT ĐỊNH": "Quyết định", "TỜ TRÌNH": "Tờ trình", "THÔNG BÁO": "Thông báo",
    "KẾ HOẠCH": "Kế hoạch", "BÁO CÁO": "Báo cáo", "NGHỊ QUYẾT": "Nghị quyết",
    "CHỈ THỊ": "Chỉ thị", "BIÊN BẢN": "Biên bản", "HƯỚNG DẪN": "Hướng dẫn",
    "CHƯƠNG TRÌNH": "Chương trình", "GIẤY MỜI": "Giấy mời", "CÔNG VĂN": "Công văn",
}


def norm(v):
    if v is None:
        return None
    v = unicodedata.normalize("NFC", v)
    v = v.replace("\u00d0", "\u0110").replace("\u00f0", "\u0111")
    v = " ".join(v.split())
    return v or None


def fold(v):
    v = norm(v)
    if v is None:
        return None
    v = v.lower().replace("đ", "d")
    v = unicodedata.normalize("NFD", v)
    v = "".join(c for c in v if not ("\u0300" <= c <= "\u036f"))
    return v


def corpus_truth(path):
    """{(file, frame, part): page} from shared/corpus/truth.json."""
    t = json.load(open(path, encoding="utf-8"))
    pages = {}
    for dossier, files in t["dossiers"].items():
        first = True
        for e in files:
            key_file = f"{dossier}/{e['file']}"
            frame = e.get("frame", 0)
            if e["kind"] == "blank":
                pages[(key_file, frame, 0)] = {"kind": "blank"}
                continue
            for part, text in enumerate(e["pages"]):
                p = {"kind": "first" if first else "cont"}
                if first:
                    p["fields"] = parse_corpus_header(text)
                first = False
                pages[(key_file, frame, part)] = p
    return pages


def parse_corpus_header(text):
    lines = [ln.strip() for ln in text.split("\n")]
    f = dict.fromkeys(FIELDS)
    l1, l2, l3 = lines[0], lines[1], lines[2]
    i = l1.find("CỘNG HÒA")
    f["organ_parent"] = l1[:i].strip() if i > 0 else None
    i = l2.find("Độc lập")
    f["organ_name"] = l2[:i].strip() if i > 0 else None
    m = re.match(r"Số:\s*(\d*)\s*/(\S+)\s+(.+?),\s*ngày\s+(\d*)\s*tháng\s+(\d*)\s*năm\s+(\d{4})", l3)
    if m:
        f["code_number"] = m.group(1) or None
        f["code_notation"] = m.group(2)
        f["place"] = m.group(3)
        d, mo, y = m.group(4), m.group(5), m.group(6)
        f["issued_date"] = (f"{y}-{int(mo):02d}-{int(d):02d}" if d and mo else
                            f"{y}-{int(mo):02d}" if mo else y)
    rest = [ln for ln in lines[3:] if ln]
    if rest and rest[0] in TYPE_NAMES:
        f["type_name"] = TYPE_NAMES[rest[0]]
    return f


def simple_truth(path):
    t = json.load(open(path, encoding="utf-8"))
    return {(p["file"], p.get("frame", 0), p.get("part", 0)): p for p in t["pages"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set")
    ap.add_argument("truth")
    ap.add_argument("output")
    ap.add_argument("--kind", choices=["gen", "corpus", "real"], default="gen")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    truth = corpus_truth(a.truth) if a.kind == "corpus" else simple_truth(a.truth)
    out = {}
    errors = []
    for line in open(a.output, encoding="utf-8"):
        o = json.loads(line)
        if "error" in o:
            errors.append(o)
            continue
        out[(o["file"], o.get("frame", 0), o.get("part", 0))] = o
    n_first = 0
    exact = dict.fromkeys(FIELDS, 0)
    folded = dict.fromkeys(FIELDS, 0)
    present = dict.fromkeys(FIELDS, 0)
    tp = fp = fn = tn = 0
    ms = []
    missing = []
    misses = []
    for key, t in sorted(truth.items()):
        o = out.get(key)
        if o is None:
            missing.append(key)
            if t["kind"] == "first":
                fn += 1
                n_first += 1
            continue
        if not o.get("blank"):
            ms.append(o.get("ms_fields", 0.0))
        is_start = o.get("start_conf", 0.0) >= THRESHOLD
        if t["kind"] == "first":
            tp += is_start
            fn += not is_start
        else:
            fp += is_start
            tn += not is_start
            if is_start:
                misses.append(f"  false start {key} ({t.get('what', t['kind'])}) "
                              f"start_conf {o['start_conf']:.2f}")
        if t["kind"] != "first":
            continue
        if not is_start:
            misses.append(f"  missed start {key} start_conf {o.get('start_conf', 0):.2f}")
        n_first += 1
        for f in FIELDS:
            want = norm(t["fields"].get(f))
            got = norm((o["fields"].get(f) or [None])[0])
            present[f] += want is not None
            if got == want:
                exact[f] += 1
            else:
                misses.append(f"  {key[0]}#{key[1]}.{key[2]} {f}: want {want!r} got {got!r}")
            if fold(got) == fold(want):
                folded[f] += 1
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    print(f"== {a.set}: {n_first} first pages, {tp + fp + fn + tn} pages "
          f"({len(missing)} not in the output, {len(errors)} unreadable files)")
    print(f"  {'field':14s} {'exact':>7s} {'folded':>7s}  (truth present on)")
    for f in FIELDS:
        e = exact[f] / n_first if n_first else 0
        d = folded[f] / n_first if n_first else 0
        print(f"  {f:14s} {e * 100:6.1f}% {d * 100:6.1f}%  ({present[f]}/{n_first})")
    allf = sum(exact.values()) / (n_first * len(FIELDS)) if n_first else 0
    print(f"  {'all fields':14s} {allf * 100:6.1f}%")
    print(f"  start detection (start_conf >= {THRESHOLD}): precision {prec * 100:.1f}% "
          f"recall {rec * 100:.1f}%  (tp {tp}, fp {fp}, fn {fn}, tn {tn})")
    firsts = [out[k].get("start_conf", 0.0) for k, t in truth.items()
              if k in out and t["kind"] == "first"]
    others = [out[k].get("start_conf", 0.0) for k, t in truth.items()
              if k in out and t["kind"] != "first"]
    if firsts and others:
        print(f"  start_conf: first pages min {min(firsts):.2f} median "
              f"{sorted(firsts)[len(firsts) // 2]:.2f}; other pages max {max(others):.2f}")
    if ms:
        print(f"  extraction: {sum(ms) / len(ms):.2f} ms per page (mean of {len(ms)}), "
              f"max {max(ms):.2f} ms")
    if a.verbose:
        for m in misses:
            print(m)
        for k in missing:
            print(f"  not in output: {k}")
        for e in errors:
            print(f"  unreadable: {e['file']}: {e['error']}")
    summary = {"set": a.set, "first_pages": n_first, "pages": tp + fp + fn + tn,
               "exact": {f: exact[f] / n_first if n_first else 0 for f in FIELDS},
               "folded": {f: folded[f] / n_first if n_first else 0 for f in FIELDS},
               "start_precision": prec, "start_recall": rec,
               "ms_per_page": sum(ms) / len(ms) if ms else 0}
    print("JSON " + json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
