#!/usr/bin/env python3
"""vnscore.py — figures for the Vietnamese correction (tests/eval/).

usage: vnscore.py DIR [--dic /usr/share/hunspell/vi_VN.dic] [--truth DIR]

For every DIR/<name>.before.txt and .after.txt (vncorrect_cli --out DIR):
  valid   share of word tokens (letters only, lower case) that are
          hunspell-vi words, tone placement either way (hoà = hòa)
  miss    bag-of-words miss rate against <truth>/<stem>_gt.txt when it
          exists: truth tokens (lower case, NFC, placement normalised,
          punctuation stripped) not found in the OCR's multiset, / truth
          tokens
Prints one line per page and the totals.
"""
import collections
import os
import re
import sys
import unicodedata

TONES = "\u0300\u0301\u0303\u0309\u0323"


def norm(w):
    """Lower case NFC, tone of a final oa/oe/uy on the first vowel."""
    d = unicodedata.normalize("NFD", w.lower())
    m = re.search(r"([^aeiouy\u0302\u0306\u031b" + TONES + r"]|^)(o|u)("
                  r"[" + TONES + r"]?)(a|e|y)([" + TONES + r"])$", d)
    if m and not (m.group(2) == "u" and m.group(1) == "q") and \
            ((m.group(2), m.group(4)) in (("o", "a"), ("o", "e"),
                                          ("u", "y"))) and not m.group(3):
        d = d[:m.start(2)] + m.group(2) + m.group(5) + m.group(4)
    return unicodedata.normalize("NFC", d)


def tokens(text):
    out = []
    for t in text.split():
        t = t.strip(".,;:!?\"'()[]{}«»“”‘’…-–—_*|")
        if t:
            out.append(norm(t))
    return out


def main():
    a = sys.argv[1:]
    dic = "/usr/share/hunspell/vi_VN.dic"
    truth = "/work/shared/real/vietnamese/vietadmin"
    if "--dic" in a:
        i = a.index("--dic"); dic = a[i + 1]; del a[i:i + 2]
    if "--truth" in a:
        i = a.index("--truth"); truth = a[i + 1]; del a[i:i + 2]
    d = a[0]
    words = set()
    for line in open(dic, encoding="utf-8").read().split("\n")[1:]:
        w = line.split("/")[0].strip()
        if w:
            words.add(norm(w))
    tot = collections.Counter()
    for f in sorted(os.listdir(d)):
        if not f.endswith(".before.txt"):
            continue
        name = f[:-len(".before.txt")]
        row = [name]
        for kind in ("before", "after"):
            toks = tokens(open(os.path.join(d, name + "." + kind + ".txt"),
                              encoding="utf-8").read())
            alpha = [t for t in toks if t.isalpha()]
            v = sum(1 for t in alpha if t in words)
            tot[kind + "_alpha"] += len(alpha)
            tot[kind + "_valid"] += v
            row.append("%s valid %.1f%%" % (kind, 100.0 * v / max(1, len(alpha))))
            stem = re.sub(r"(_v\d_\w+)?\.(jpg|png|tif|pdf)(-\w+)?$", "", name)
            gt = os.path.join(truth, stem + "_gt.txt")
            if os.path.exists(gt):
                tt = collections.Counter(tokens(open(gt, encoding="utf-8").read()))
                oc = collections.Counter(toks)
                miss = sum((tt - oc).values())
                n = sum(tt.values())
                tot[kind + "_miss"] += miss
                tot[kind + "_truth"] += n
                row.append("miss %d/%d = %.2f%%" % (miss, n, 100.0 * miss / n))
        print("  ".join(row))
    for kind in ("before", "after"):
        s = "%s: valid %.2f%% of %d tokens" % (
            kind, 100.0 * tot[kind + "_valid"] / max(1, tot[kind + "_alpha"]),
            tot[kind + "_alpha"])
        if tot[kind + "_truth"]:
            s += "; miss %.2f%% (%d of %d truth tokens)" % (
                100.0 * tot[kind + "_miss"] / tot[kind + "_truth"],
                tot[kind + "_miss"], tot[kind + "_truth"])
        print(s)


if __name__ == "__main__":
    main()
