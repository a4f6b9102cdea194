#!/usr/bin/python3
"""e2e_check.py — assertions of the end-to-end test that want Python.

usage: e2e_check.py CHECK WAREHOUSE TRUTH.json

checks:
  pages     every dossier's PDF has the truth's page count; each page's text
            (pdftotext -raw) matches its truth page (CER per page <= 3 %) and
            no page's text fits another page better (right order)
  boxes     every word box (pdftotext -bbox) lies inside its page, and the
            boxes lie on ink: the page rendered by pdftoppm is much darker
            inside the word boxes than outside them
  geometry  provenance rows: each page's source file, frame, quarter turn
            and skew (within 0.2 degrees of the truth)
Prints one line per finding; exits 1 on any failure.
"""
import json, os, re, sqlite3, subprocess, sys, unicodedata, html
import Levenshtein

FOLD = str.maketrans({"–": "-", "—": "-", "“": '"', "”": '"', "‘": "'", "’": "'", "…": "..."})


def norm(s):
    return " ".join(unicodedata.normalize("NFC", s).translate(FOLD).split())


def cer(a, b):
    a, b = norm(a), norm(b)
    return Levenshtein.distance(a, b) / max(1, len(a))


def truth_pages(truth):
    out = {}
    for did, files in truth["dossiers"].items():
        out[did] = [(f, p) for f in files for p in f["pages"]]
    return out


def pdf_pages_text(pdf):
    raw = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", pdf, "-"],
                         capture_output=True, check=True).stdout.decode("utf-8")
    pages = raw.split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]
    return pages


def dossiers(wh):
    db = sqlite3.connect(os.path.join(wh, "catalog.db"))
    return db, {r[0]: (r[1], r[2], r[3]) for r in
                db.execute("SELECT id, pdf, pages, state FROM dossier")}


def check_pages(wh, truth):
    fails = 0
    db, ds = dossiers(wh)
    for did, tp in truth_pages(truth).items():
        if did not in ds or ds[did][2] != "done":
            print(f"FAIL {did}: not done ({ds.get(did)})"); fails += 1; continue
        pdf, npages, _ = ds[did]
        got = pdf_pages_text(pdf)
        if len(got) != len(tp) or npages != len(tp):
            print(f"FAIL {did}: {len(got)} pages in PDF, catalog {npages}, truth {len(tp)}")
            fails += 1; continue
        for i, (ent, text) in enumerate(tp):
            c = cer(text, got[i])
            best = min(range(len(tp)), key=lambda k: cer(tp[k][1], got[i]))
            ok = c <= 0.03 and best == i
            print(f"{'ok  ' if ok else 'FAIL'} {did} page {i+1} ({ent['file']} frame {ent.get('frame', 0)}): CER {c*100:.2f}%")
            fails += not ok
    return fails


def read_pgm(path):
    data = open(path, "rb").read()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    return w, h, data[m.end():]


def check_boxes(wh, truth):
    fails = 0
    db, ds = dossiers(wh)
    tmp = os.path.join(wh, ".e2e")
    os.makedirs(tmp, exist_ok=True)
    for did, (pdf, npages, state) in sorted(ds.items()):
        if state != "done":
            continue
        bb = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", pdf, "-"],
                            capture_output=True, check=True).stdout.decode("utf-8")
        pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', bb, re.S)
        for pno, (pw, ph, body) in enumerate(pages, 1):
            pw, ph = float(pw), float(ph)
            words = [tuple(map(float, m[:4])) for m in re.findall(
                r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">', body)]
            outside = [w for w in words if w[0] < -0.5 or w[1] < -0.5 or w[2] > pw + 0.5 or w[3] > ph + 0.5]
            if not words or outside:
                print(f"FAIL {did} page {pno}: {len(words)} words, {len(outside)} outside the page")
                fails += 1; continue
            # Render at 50 dpi and compare darkness inside and outside boxes.
            base = os.path.join(tmp, f"{did}-{pno}")
            subprocess.run(["pdftoppm", "-r", "50", "-gray", "-f", str(pno), "-l", str(pno),
                            "-singlefile", pdf, base], check=True)
            w, h, px = read_pgm(base + ".pgm")
            sx, sy = w / pw, h / ph
            # paper level: the most common value; ink: clearly darker
            hist = [0] * 256
            for v in px[:w * h]:
                hist[v] += 1
            paper = max(range(256), key=lambda v: hist[v])
            inkv = paper - 60
            inside = bytearray(w * h)
            for (x0, y0, x1, y1) in words:
                for y in range(max(0, int(y0 * sy)), min(h, int(y1 * sy) + 1)):
                    row = y * w
                    for x in range(max(0, int(x0 * sx)), min(w, int(x1 * sx) + 1)):
                        inside[row + x] = 1
            din = dout = nin = nout = 0
            for i in range(w * h):
                d = px[i] < inkv
                if inside[i]:
                    din += d; nin += 1
                else:
                    dout += d; nout += 1
            mi, mo = din / max(1, nin), dout / max(1, nout)
            ok = mi > 5 * mo and mi > 0.05
            print(f"{'ok  ' if ok else 'FAIL'} {did} page {pno}: {len(words)} words inside the page;"
                  f" ink in boxes {mi*100:.1f}%, outside {mo*100:.2f}%")
            fails += not ok
    return fails


def check_geometry(wh, truth):
    fails = 0
    db, ds = dossiers(wh)
    for did, files in truth["dossiers"].items():
        rows = db.execute("SELECT pageno, source_name, frame, quarter, skew, source_sha256,"
                          " crop, page_w_pt, page_h_pt FROM page WHERE dossier=? AND pageno"
                          " IS NOT NULL ORDER BY pageno", (did,)).fetchall()
        if len(rows) != len(files):
            print(f"FAIL {did}: {len(rows)} provenance rows for {len(files)} pages"); fails += 1; continue
        for ent, r in zip(files, rows):
            pageno, name, frame, quarter, skew, sha, crop, pw, ph = r
            # truth: the sheet was turned `rotation` degrees counter-clockwise;
            # setting it upright takes as many clockwise quarters
            want_q = ent["rotation"] // 90
            ok = (name == ent["file"] and frame == ent.get("frame", 0) and quarter == want_q
                  and abs(skew - ent["skew"]) <= 0.2 and len(sha) == 64 and crop and pw > 0 and ph > 0)
            print(f"{'ok  ' if ok else 'FAIL'} {did} page {pageno}: {name} frame {frame},"
                  f" turned {quarter * 90}° (want {want_q * 90}), skew {skew:.2f}° (truth {ent['skew']})")
            fails += not ok
    return fails


def main():
    what, wh, truth = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3], encoding="utf-8"))
    fails = {"pages": check_pages, "boxes": check_boxes, "geometry": check_geometry}[what](wh, truth)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
