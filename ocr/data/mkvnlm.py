#!/usr/bin/env python3
"""mkvnlm.py — build ocr/data/vnlm.bin, the Vietnamese syllable model that
ocr/vncorrect.c embeds (ocr/vnlm_blob.c) to correct Tesseract's tone marks.

usage:  python3 ocr/data/mkvnlm.py LANGDATA_DIR [OUT] [--hunspell DIC]

  LANGDATA_DIR  a clone or bare mirror of github.com/tesseract-ocr/langdata
                (read with `git show HEAD:vie/...`, or plain files when the
                folder has a work tree); only vie/vie.word.bigrams and
                vie/vie.wordlist are read
  OUT           default ocr/data/vnlm.bin
  --hunspell    a hunspell .dic (e.g. /usr/share/hunspell/vi_VN.dic from
                Debian's hunspell-vi): only to report how much of it the
                syllable set covers; it changes nothing in the output

The output holds figures derived from langdata (Apache-2.0), never its
text: the set of valid syllables, ranks turned into probabilities, pairs of
syllable ids.  Same inputs give the same bytes.

Method.
  Valid syllables come from a grammar: onset x rhyme x tone, with the
  orthographic rules (c/k, g/gh, ng/ngh before i e ê; qu and gi as onsets;
  iê written yê without an onset; rhymes ending in p t c ch take only the
  sắc and nặng tones) and the tone on the vowel the rule of the new
  placement names; an open oa, oe, uy gets its old placement too (hoà and
  hòa both valid: validity is checked on the exact spelling).  The grammar
  over-generates a little (forms no one writes are valid but get the
  probability floor of a word langdata never shows).
  Keys: the lower-case form with the new placement (as base/vntext.c's
  sh_text_norm does), so hoà and hòa share one key, one probability.
  Single words: vie.wordlist is ordered most frequent first; rank r
  counts 1/r (Zipf), summed over its case and punctuation variants.
  Pairs: vie.word.bigrams is ordered most frequent first; rank r counts
  1/r; P(b | a) = c(a b) / sum over x of c(a x), kept where a and b are
  both valid syllables.  Probabilities are stored as uint8 q = round(-ln p
  * SCALE), at most 255.

Layout (little endian; offsets from the start):
  0   "SHVNLM1\\0"
  8   u32 nform, nkey, npair, nstr (bytes of the string pool), scale, 0
  32  nform x (u32 string offset, u32 key id), sorted by form bytes
      nkey  x u32 string offset, sorted by key bytes (id = index)
      nkey  x u8  unigram q, padded to 4
      npair x u32 (id1 << 16 | id2), sorted
      npair x u8  q of P(id2 | id1), padded to 4
      nstr bytes of NUL-terminated UTF-8 strings
"""
import os
import struct
import subprocess
import sys
import unicodedata
from collections import defaultdict
from math import log

SCALE = 12
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # huyền sắc hỏi ngã nặng
MARKS = {"ă": "a\u0306", "â": "a\u0302", "ê": "e\u0302", "ô": "o\u0302",
         "ơ": "o\u031b", "ư": "u\u031b"}
VOWELS = set("aăâeêioôơuưy")

ONSETS = ["", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l",
          "m", "n", "ng", "ngh", "nh", "p", "ph", "qu", "r", "s", "t", "th",
          "tr", "v", "x"]

OPEN = """a e ê i y o ô ơ u ư ai ao au ay âu ây eo êu ia iu oa oe oi ôi ơi ua
ui uy ưa ưi ưu uê uơ iêu yêu oai oay oao oeo uây uôi ươi ươu uya uyu""".split()
CLOSED = """ac ach am an ang anh ap at ăc ăm ăn ăng ăp ăt âc âm ân âng âp ât
ec em en eng ep et êch êm ên ênh êp êt ich im in inh ip it oc om on ong op ot
ôc ôm ôn ông ôp ôt ơc ơm ơn ơp ơt uc um un ung up ut ưc ưm ưn ưng ưp ưt iêc iêm
iên iêng iêp iêt yêm yên yêng yêt oac oach oan oang oanh oap oat oăc oăm oăn
oăng oăt oen oet oong ooc uân uâng uât uôc uôm uôn uông uôt ươc ươm ươn ương
ươp ươt uyên uyêt uych uynh uyt uyn uêch uênh oem oen oeng oam oăp""".split()


def vowel_span(r):
    i = 0
    while i < len(r) and r[i] in VOWELS:
        i += 1
    return r[:i], r[i:]


def tone_positions(v, coda):
    """Index(es) in vowel group v carrying the tone: [new] or [new, old]."""
    marked = [i for i, c in enumerate(v) if c in "ăâêôơư"]
    if marked:
        return [marked[-1]]
    if coda or len(v) == 1:
        return [len(v) - 1]
    if len(v) == 2:
        if v in ("oa", "oe", "uy"):
            return [0, 1]
        return [0]
    return [1]


def put_tone(s, i, tone):
    """s (NFC letters) with tone after letter i, NFC."""
    d = "".join(MARKS.get(c, c) + (tone if k == i else "")
                for k, c in enumerate(s))
    return unicodedata.normalize("NFC", d)


def spell(onset, rhyme):
    """Written onset and rhyme, or None when the pair is not spelt so."""
    front = rhyme[0]
    if onset in ("c", "g", "ng") and front in "ieêy":
        return None
    if onset in ("k", "gh", "ngh") and front not in "ieê" and \
            not rhyme.startswith("y"):
        return None
    if onset in ("k", "gh", "ngh") and rhyme.startswith("y") and \
            onset != "k":
        return None
    if onset == "qu":
        if front in "uưo" or rhyme.startswith("ươ"):
            return None
        if rhyme[0] in "iy" and rhyme not in ("i", "y"):
            rhyme = "y" + rhyme[1:]  # quyên, quyết, quýnh, quýt
    if onset == "gi":
        if rhyme.startswith("iê"):
            rhyme = rhyme[1:]        # giếng
        elif rhyme.startswith("i"):
            if len(rhyme) > 1 and rhyme[1] in VOWELS:
                return None          # gia is gi + a, not g + ia
            return "g", rhyme        # gì, gìn: the i is the vowel
        if rhyme.startswith("y"):
            return None
    if rhyme.startswith("yê") and onset not in ("", "qu"):
        rhyme = "i" + rhyme[1:]
    if rhyme.startswith("iê") and onset == "":
        rhyme = "y" + rhyme[1:]
    return onset, rhyme


def grammar():
    """{form: key} for every syllable the grammar spells."""
    out = {}
    for onset in ONSETS:
        for rhyme in OPEN + CLOSED:
            sp = [spell(onset, rhyme)]
            if onset == "qu" and rhyme[0] == "i" and rhyme[:2] != "iê":
                sp.append(("qu", rhyme))     # quít beside quýt
            for x in sp:
                if x:
                    add(out, *x)
    return out


def add(out, on, rh):
    """Every tone of onset on + rhyme rh into out, as {form: key}."""
    v, coda = vowel_span(rh)
    if not v:
        return
    stop = coda in ("p", "t", "c", "ch")
    for t in ([TONES[2], TONES[5]] if stop else TONES):
        pos = tone_positions(v, coda) if t else [0]
        forms = [on + put_tone(v, p, t) + coda for p in pos]
        for f in forms:
            out[f] = forms[0]


def read(langdata, rel):
    p = os.path.join(langdata, rel)
    if os.path.exists(p):
        return open(p, encoding="utf-8", errors="replace").read()
    return subprocess.run(["git", "--git-dir", langdata, "show", "HEAD:" + rel],
                          check=True, capture_output=True).stdout.decode(
                              "utf-8", "replace")


STRIP = ".,;:!?\"'()[]{}«»“”‘’…-–—/*"


def clean(tok):
    return unicodedata.normalize("NFC", tok.strip(STRIP)).lower()


def main():
    args = sys.argv[1:]
    dic = None
    if "--hunspell" in args:
        i = args.index("--hunspell")
        dic = args[i + 1]
        del args[i:i + 2]
    if not args:
        sys.exit(__doc__)
    langdata = args[0]
    out = args[1] if len(args) > 1 else "ocr/data/vnlm.bin"
    if os.path.isdir(os.path.join(langdata, "repo")):
        langdata = os.path.join(langdata, "repo")

    gram = grammar()
    wl = read(langdata, "vie/vie.wordlist").split("\n")
    bg = read(langdata, "vie/vie.word.bigrams").split("\n")

    seen = set()
    uni = defaultdict(float)
    for r, line in enumerate(wl, 1):
        w = clean(line)
        if w in gram:
            seen.add(w)
            uni[gram[w]] += 1.0 / r
    pairs = defaultdict(float)
    left = defaultdict(float)
    for r, line in enumerate(bg, 1):
        t = line.split(" ")
        if len(t) != 2:
            continue
        a, b = clean(t[0]), clean(t[1])
        left[gram.get(a, a)] += 1.0 / r
        if a in gram and b in gram:
            seen.update((a, b))
            pairs[(gram[a], gram[b])] += 1.0 / r
    forms = gram
    keys = sorted(set(forms.values()), key=lambda s: s.encode())
    if len(keys) >= 65536:
        sys.exit("too many keys")
    kid = {k: i for i, k in enumerate(keys)}
    # single words: wordlist ranks, else a floor below the rarest listed
    tot = sum(uni.values())
    floor = min(uni.values()) / 2
    def q(p):
        return min(255, max(0, round(-log(p) * SCALE)))
    uq = [q((uni[k] if k in uni else floor) / tot) for k in keys]
    pl = sorted((kid[a] << 16 | kid[b], q(c / left[a]))
                for (a, b), c in pairs.items())

    pool = bytearray()
    offs = {}
    def s_off(s):
        if s not in offs:
            offs[s] = len(pool)
            pool.extend(s.encode() + b"\0")
        return offs[s]
    flist = sorted(forms, key=lambda s: s.encode())
    fent = [(s_off(f), kid[forms[f]]) for f in flist]
    kent = [s_off(k) for k in keys]

    def pad4(b):
        return b + b"\0" * (-len(b) % 4)
    blob = bytearray(b"SHVNLM1\0")
    blob += struct.pack("<6I", len(fent), len(kent), len(pl), len(pool),
                        SCALE, 0)
    for o, k in fent:
        blob += struct.pack("<2I", o, k)
    blob += struct.pack("<%dI" % len(kent), *kent)
    blob += pad4(bytes(uq))
    blob += struct.pack("<%dI" % len(pl), *[p for p, _ in pl])
    blob += pad4(bytes(x for _, x in pl))
    blob += pool
    with open(out, "wb") as f:
        f.write(blob)
    print("%s: %d bytes; grammar %d forms, kept %d forms (%d keys), %d pairs"
          % (out, len(blob), len(gram), len(fent), len(kent), len(pl)))
    if dic:
        words = set()
        for line in open(dic, encoding="utf-8").read().split("\n")[1:]:
            w = line.split("/")[0].strip()
            if w and " " not in w:
                words.add(unicodedata.normalize("NFC", w).lower())
        syl = [w for w in words if all(c.isalpha() for c in w)]
        ing = sum(1 for w in syl if w in gram)
        inf = sum(1 for w in syl if w in forms)
        miss = sorted(w for w in syl if w not in gram)
        print("hunspell %s: %d words; grammar covers %d (%.1f %%), kept "
              "forms %d (%.1f %%); not in grammar: %s"
              % (dic, len(syl), ing, 100.0 * ing / len(syl), inf,
                 100.0 * inf / len(syl), " ".join(miss[:60])))


if __name__ == "__main__":
    main()
