#!/usr/bin/env python3
"""real.py — how well sohoa reads the real Vietnamese scans, next to
Tesseract alone.  What `make eval-real` runs.

  python3 tests/eval/real.py [--configs cli,best+corr,...] [--only SUBSTR]
                             [--keep] [--verbose]

Inputs: every scan under $SOHOA_SHARED/real/vietnamese (default
../shared, relative to the repository); the run is skipped (exit 0) when
that folder is absent.  Each file becomes one dossier of a temporary batch.

Configurations (--configs, comma-separated, in the order printed):
  cli       `tesseract FILE - -l vie` (Debian's model), OMP_THREAD_LIMIT=1;
            PDF pages are first rendered at their image's own resolution
  NAME      a sohoa configuration from SOHOA_CONFIGS below: `sohoa run` on
            the batch (fresh warehouse), page text read from the catalog,
            i.e. exactly what is indexed
  NAME=sohoa:ARGS   an ad-hoc sohoa configuration (ARGS added to `sohoa run`,
            words split on spaces; KEY=VALUE words set the environment)
  NAME=cli:ARGS     an ad-hoc CLI configuration (ARGS added to tesseract)
A configuration whose option the binary does not know is reported and
skipped.

Figures, per file and overall:
  valid   share of letter tokens (lower-case, NFC; digits and punctuation
          ignored) that are Vietnamese syllables in hunspell-vi's
          /usr/share/hunspell/vi_VN.dic (perfect text reads ≈ 97 %)
  miss    where a truth file exists (X_gt.txt; augmented/4_1_v* share
          4_1_gt.txt): share of the truth's words (multiset, lower-case)
          not found in the output
  s/pg    CPU seconds per page (user+sys of the process tree: robust on a
          shared machine).  For sohoa, per file: the worker's own times
          from the catalog (read+prep+ocr+encode); overall: the whole run.
Environment: SOHOA (binary, default build/sohoa), SOHOA_SHARED,
EVAL_REAL_WORK (scratch, default /tmp/sohoa-eval-real).
"""
import argparse
import collections
import json
import os
import re
import resource
import shutil
import sqlite3
import struct
import subprocess
import sys
import time
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("SOHOA_SHARED", os.path.join(ROOT, "..", "shared"))
REAL = os.path.join(SHARED, "real", "vietnamese")
SOHOA = os.environ.get("SOHOA", os.path.join(ROOT, "build", "sohoa"))
WORK = os.environ.get("EVAL_REAL_WORK", "/tmp/sohoa-eval-real")
DIC = "/usr/share/hunspell/vi_VN.dic"
EXTS = (".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff")

# Named sohoa configurations: extra `sohoa run` arguments and environment.
# Add a line here for a new option (e.g. the tone corrector on/off).
SOHOA_CONFIGS = collections.OrderedDict([
    ("sohoa", ([], {})),                        # the defaults, whatever they are
    ("fast", (["--model", "fast"], {})),
    ("best", (["--model", "best"], {})),
    ("fast+corr", (["--model", "fast", "--correct", "on"], {})),
    ("best+corr", (["--model", "best", "--correct", "on"], {})),
    ("fast-corr", (["--model", "fast", "--correct", "off"], {})),
    ("best-corr", (["--model", "best", "--correct", "off"], {})),
])
DEFAULT_CONFIGS = "cli,fast-corr,best-corr,fast+corr,best+corr"

LETTERS = re.compile(r"[^\W\d_]+")
WORDS = re.compile(r"\w+")


TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
VOWELS = set("aeiouy")
WORD_RUN = re.compile(r"[^\W\d_]+")


def _placement(word):
    """The tone of a word-final oa/oe/uy on its first vowel (hoà → hòa,
    thuỷ → thủy; quý, hoàng unchanged): base/vntext.c's rule, so that the
    old and the new placement read alike for every system compared (the
    hunspell-vi list has the old one, sohoa writes the new one)."""
    d = unicodedata.normalize("NFD", word)
    letters = []                       # [base, marks]
    for ch in d:
        if unicodedata.combining(ch) and letters:
            letters[-1][1] += ch
        else:
            letters.append([ch, ""])
    if len(letters) >= 2:
        a, b = letters[-2], letters[-1]
        x, y = a[0].lower(), b[0].lower()
        pair = (x == "o" and y in "ae") or (x == "u" and y == "y")
        if pair and len(letters) >= 3:
            w = letters[-3][0].lower()
            if w in VOWELS or (x == "u" and w == "q"):
                pair = False
        if pair and a[1] == "" and len(b[1]) == 1 and b[1] in TONES:
            a[1], b[1] = b[1], ""
    return unicodedata.normalize("NFC", "".join(c + m for c, m in letters))


def nfc_lower(s):
    s = unicodedata.normalize("NFC", s).lower()
    return WORD_RUN.sub(lambda m: _placement(m.group(0)), s)


def load_dic():
    words = set()
    with open(DIC, encoding="utf-8", errors="replace") as f:
        first = True
        for line in f:
            line = line.strip()
            if first:
                first = False
                if line.isdigit():
                    continue
            if not line:
                continue
            words.add(nfc_lower(line.split("/")[0]))
    return words


def valid_counts(text, dic):
    toks = LETTERS.findall(nfc_lower(text))
    return sum(t in dic for t in toks), len(toks)


def miss_counts(text, truth):
    want = collections.Counter(WORDS.findall(nfc_lower(truth)))
    have = collections.Counter(WORDS.findall(nfc_lower(text)))
    missed = sum(max(0, n - have[w]) for w, n in want.items())
    return missed, sum(want.values())


def truth_for(rel):
    base = os.path.basename(rel)
    m = re.match(r"(\d+_\d+)(_v\d+_\w+)?\.\w+$", base)
    if not m:
        return None
    for d in (os.path.dirname(os.path.join(REAL, rel)),
              os.path.join(REAL, "vietadmin")):
        p = os.path.join(d, m.group(1) + "_gt.txt")
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                return f.read()
    return None


def tiff_frames(path):
    with open(path, "rb") as f:
        data = f.read()
    bo = "<" if data[:2] == b"II" else ">"
    off = struct.unpack(bo + "I", data[4:8])[0]
    n = 0
    while off and off + 2 <= len(data) and n < 10000:
        n += 1
        cnt = struct.unpack(bo + "H", data[off:off + 2])[0]
        p = off + 2 + 12 * cnt
        off = struct.unpack(bo + "I", data[p:p + 4])[0] if p + 4 <= len(data) else 0
    return n


def pdf_pages_images(path):
    """[(page, x_ppi)] of a scanner PDF, from pdfimages -list."""
    out = subprocess.run(["pdfimages", "-list", path], capture_output=True,
                         text=True).stdout.splitlines()[2:]
    ppi = {}
    for line in out:
        c = line.split()
        if len(c) >= 14 and c[0].isdigit():
            try:
                ppi.setdefault(int(c[0]), float(c[12]))
            except ValueError:
                pass
    n = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", path], capture_output=True, text=True).stdout).group(1))
    return [(p, ppi.get(p, 300)) for p in range(1, n + 1)]


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def list_inputs(only):
    files = []
    for d, _, names in os.walk(REAL):
        for n in names:
            if n.lower().endswith(EXTS):
                rel = os.path.relpath(os.path.join(d, n), REAL)
                if not only or only in rel:
                    files.append(rel)
    return sorted(files)


def dossier_id(rel):
    return re.sub(r"[^A-Za-z0-9]+", "_", rel)


def run_cli(rel, extra, tmp):
    """Text and pages of `tesseract` on one file; CPU seconds spent."""
    path = os.path.join(REAL, rel)
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    imgs = []
    if rel.lower().endswith(".pdf"):
        for page, ppi in pdf_pages_images(path):
            stem = os.path.join(tmp, "p%d" % page)
            subprocess.run(["pdftoppm", "-r", "%g" % ppi, "-f", str(page),
                            "-l", str(page), "-png", "-singlefile", path,
                            stem], check=True)
            imgs.append(stem + ".png")
    else:
        imgs.append(path)
    pages = 0
    texts = []
    c0 = cpu_children()
    for im in imgs:
        r = subprocess.run(["tesseract", im, "-", "-l", "vie"] + extra,
                           capture_output=True, text=True, env=env)
        texts.append(r.stdout)
        if im.lower().endswith((".tif", ".tiff")):
            pages += tiff_frames(im)
        else:
            pages += 1
    return "\n".join(texts), pages, cpu_children() - c0


def sohoa_usage():
    r = subprocess.run([SOHOA, "run", "--help"], capture_output=True, text=True)
    return r.stdout + r.stderr


def run_sohoa(name, args, envx, files, verbose):
    """{rel: (text, pages, seconds from catalog)}, total pages, CPU s, wall s"""
    base = os.path.join(WORK, name)
    shutil.rmtree(base, ignore_errors=True)
    batch = os.path.join(base, "batch")
    for rel in files:
        d = os.path.join(batch, dossier_id(rel))
        os.makedirs(d)
        os.symlink(os.path.join(os.path.abspath(REAL), rel),
                   os.path.join(d, os.path.basename(rel)))
    wh = os.path.join(base, "wh")
    env = dict(os.environ, **envx)
    cmd = [SOHOA, "run", "--warehouse", wh, "--quiet"] + args + [batch]
    c0, w0 = cpu_children(), time.time()
    r = subprocess.run(cmd, capture_output=not verbose, text=True, env=env)
    cpu, wall = cpu_children() - c0, time.time() - w0
    if r.returncode not in (0, 3):
        print("  %s: sohoa run exited %d %s" % (name, r.returncode,
              (r.stderr or "").strip()[-300:]), file=sys.stderr)
    db = sqlite3.connect(os.path.join(wh, "catalog.db"))
    res, total = {}, 0
    for rel in files:
        rows = db.execute(
            "SELECT text, coalesce(t_read,0)+coalesce(t_prep,0)+"
            "coalesce(t_ocr,0)+coalesce(t_encode,0), frame FROM page "
            "WHERE dossier=? ORDER BY pageno", (dossier_id(rel),)).fetchall()
        frames = len({f for _, _, f in rows})
        res[rel] = ("\n".join(t or "" for t, _, _ in rows), frames,
                    sum(s for _, s, _ in rows))
        total += frames
    db.close()
    return res, total, cpu, wall


def pct(a, b):
    return "%6.2f" % (100.0 * a / b) if b else "     -"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default=os.environ.get("EVAL_REAL_CONFIGS",
                                                        DEFAULT_CONFIGS))
    ap.add_argument("--only", help="only files whose path contains this")
    ap.add_argument("--keep", action="store_true", help="keep the scratch")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    if not os.path.isdir(REAL):
        print("eval-real: %s absent; skipped" % REAL)
        return 0
    if not os.path.exists(DIC):
        print("eval-real: %s missing (apt-get install hunspell-vi)" % DIC)
        return 1
    dic = load_dic()
    files = list_inputs(a.only)
    truths = {rel: truth_for(rel) for rel in files}
    os.makedirs(WORK, exist_ok=True)
    usage = sohoa_usage()

    configs = []
    for c in a.configs.split(","):
        c = c.strip()
        if not c:
            continue
        if "=" in c:
            name, spec = c.split("=", 1)
            kind, _, rest = spec.partition(":")
            words = rest.split()
            env = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
            args = [w for w in words if not ("=" in w and not w.startswith("-"))]
            configs.append((name, kind, args, env))
        elif c == "cli":
            configs.append(("cli", "cli", [], {}))
        elif c in SOHOA_CONFIGS:
            args, env = SOHOA_CONFIGS[c]
            configs.append((c, "sohoa", list(args), dict(env)))
        else:
            print("eval-real: unknown configuration %s" % c, file=sys.stderr)
            return 2

    results = collections.OrderedDict()   # name -> {rel: (text, pages, s)}
    overall_s = {}
    for name, kind, args, env in configs:
        opts = [w for w in args if w.startswith("--")]
        unknown = [o for o in opts if o not in usage] if kind == "sohoa" else []
        if unknown:
            print("eval-real: %s skipped (sohoa run knows no %s)"
                  % (name, " ".join(unknown)))
            continue
        print("eval-real: running %s on %d files ..." % (name, len(files)),
              flush=True)
        if kind == "cli":
            res, cpu, pages = {}, 0.0, 0
            for i, rel in enumerate(files):
                tmp = os.path.join(WORK, "cli-tmp")
                shutil.rmtree(tmp, ignore_errors=True)
                os.makedirs(tmp)
                text, n, s = run_cli(rel, args, tmp)
                res[rel] = (text, n, s)
                cpu += s
                pages += n
            overall_s[name] = (cpu / pages if pages else 0, None)
        else:
            res, pages, cpu, wall = run_sohoa(name, args, env, files, a.verbose)
            overall_s[name] = (cpu / pages if pages else 0,
                               wall / pages if pages else 0)
        results[name] = res

    names = list(results)
    if not names:
        return 1
    w = max(len(r) for r in files) + 1
    head = "%-*s %3s " % (w, "file", "pg") + " ".join(
        "%21s" % ("%s valid/miss/s" % n)[:21] for n in names)
    print()
    print(head)
    print("-" * len(head))
    tot = {n: [0, 0, 0, 0, 0.0, 0] for n in names}  # ok, toks, miss, truth, s, pages
    figures = {"files": {}, "overall": {}}
    for rel in files:
        cells = []
        pg = None
        for n in names:
            text, pages, s = results[n][rel]
            pg = pg or pages
            ok, nt = valid_counts(text, dic)
            t = tot[n]
            t[0] += ok
            t[1] += nt
            t[4] += s
            t[5] += pages
            miss = "     -"
            fm = None
            if truths[rel]:
                m, nw = miss_counts(text, truths[rel])
                t[2] += m
                t[3] += nw
                miss = pct(m, nw)
                fm = 100.0 * m / nw if nw else None
            cells.append("%s %s %5.1f" % (pct(ok, nt), miss,
                                          s / pages if pages else 0))
            figures["files"].setdefault(rel, {})[n] = {
                "valid": 100.0 * ok / nt if nt else None, "miss": fm,
                "s_per_page": s / pages if pages else None, "pages": pages}
        print("%-*s %3s " % (w, rel, pg) + " ".join("%21s" % c for c in cells))
    print("-" * len(head))
    cells = []
    for n in names:
        t = tot[n]
        cells.append("%s %s %5.1f" % (pct(t[0], t[1]), pct(t[2], t[3]),
                                      overall_s[n][0]))
        figures["overall"][n] = {
            "valid": 100.0 * t[0] / t[1] if t[1] else None,
            "miss": 100.0 * t[2] / t[3] if t[3] else None,
            "cpu_s_per_page": overall_s[n][0],
            "wall_s_per_page": overall_s[n][1], "pages": t[5]}
    print("%-*s %3s " % (w, "overall", tot[names[0]][5]) +
          " ".join("%21s" % c for c in cells))
    print("\nvalid: % letter tokens that are Vietnamese syllables; miss: % "
          "truth words absent (4_1/4_2 families); s: CPU s/page (overall: "
          "whole run incl. start-up; per file for sohoa: worker wall s from the catalog)")
    for n in names:
        if overall_s[n][1] is not None:
            print("  %s: %.2f CPU s/page, %.2f wall s/page" %
                  (n, overall_s[n][0], overall_s[n][1]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(figures, f, indent=1, ensure_ascii=False)
    if not a.keep:
        for n in names:
            shutil.rmtree(os.path.join(WORK, n), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
