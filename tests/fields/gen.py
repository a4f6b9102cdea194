#!/usr/bin/python3
"""gen.py — make first pages of văn bản in the real NĐ 30/2020 layout, and
continuation pages, as scanner files with known header fields.

    gen.py --out DIR [--first N] [--cont N] [--seed S]
           --mkheader PATH --mksample PATH

Each page is drawn from seeded random choices (agency, type, number and
notation, place, date, subject, fonts, sizes), its lines rendered by
Tesseract's text2image (one render per font style and size), composed at
600 dpi by mkheader (samples/tools/mkheader.c) — left block: parent agency,
agency in bold, a short rule, the Số line, for a công văn the V/v lines;
right block: Quốc hiệu, motto and its rule, the place and date in italics;
centred title and trích yếu; body — and turned into a "scan" by mksample
(skew, 200/300 dpi, noise, dust, G4/LZW/JPEG/PNG, some two-up sheets and
sideways feeds).  Continuation pages: body with or without a page number
at the top, a signature page (two columns: "Nơi nhận" and the signer), an
annex ("PHỤ LỤC", "Kèm theo Quyết định số … ngày …"), blank backs.

Writes DIR/scans/*.{tif,jpg,png} and DIR/truth.json:
  {"seed": S, "pages": [{"file": "scans/p001.tif", "part": 0,
    "kind": "first"|"cont"|"blank", "what": "...", "font": "...",
    "fields": {"organ_parent": ..., "organ_name": ..., "code_number": ...,
               "code_notation": ..., "place": ..., "issued_date": ...,
               "type_name": ..., "subject": ...}}]}
(fields only for kind "first"; null = absent on the page).  Python 3
standard library only; text2image from Debian's tesseract-ocr; fonts
from fonts-dejavu-core and fonts-liberation2 (Liberation 1.x, Debian's
fonts-liberation, has no Vietnamese letters: without liberation2 only
DejaVu is used).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import unicodedata

DPI = 600
PAGE_W, PAGE_H = 4960, 7016          # A4 at 600 dpi
FONT_DIRS = {"dejavu": "/usr/share/fonts/truetype/dejavu",
             "liberation": "/usr/share/fonts/truetype/liberation2"}

# (parent or None, agency lines, agency abbreviation, place)
AGENCIES = [
    ("UBND TỈNH BẮC NINH", ["SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG"], "STNMT", "Bắc Ninh"),
    ("UBND TỈNH NGHỆ AN", ["SỞ NÔNG NGHIỆP VÀ", "PHÁT TRIỂN NÔNG THÔN"], "SNN", "Nghệ An"),
    (None, ["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG NAM"], "UBND", "Quảng Nam"),
    (None, ["ỦY BAN NHÂN DÂN", "THÀNH PHỐ ĐÀ NẴNG"], "UBND", "Đà Nẵng"),
    ("UBND THÀNH PHỐ HÀ NỘI", ["SỞ GIÁO DỤC VÀ ĐÀO TẠO"], "SGDĐT", "Hà Nội"),
    ("UBND HUYỆN GIA LÂM", ["PHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG"], "PTNMT", "Gia Lâm"),
    ("BỘ TÀI CHÍNH", ["TỔNG CỤC THUẾ"], "TCT", "Hà Nội"),
    ("BỘ NỘI VỤ", ["CỤC VĂN THƯ VÀ", "LƯU TRỮ NHÀ NƯỚC"], "VTLTNN", "Hà Nội"),
    ("UBND TỈNH THÁI BÌNH", ["VĂN PHÒNG UBND TỈNH"], "VP", "Thái Bình"),
    ("SỞ Y TẾ TỈNH LONG AN", ["BỆNH VIỆN ĐA KHOA TỈNH"], "BVĐK", "Long An"),
    (None, ["HỘI ĐỒNG NHÂN DÂN", "TỈNH KHÁNH HÒA"], "HĐND", "Khánh Hòa"),
    ("CÔNG AN TỈNH LÀO CAI", ["PHÒNG CẢNH SÁT GIAO THÔNG"], "PC08", "Lào Cai"),
    ("UBND TỈNH CÀ MAU", ["SỞ TƯ PHÁP"], "STP", "Cà Mau"),
    ("UBND TỈNH LÂM ĐỒNG", ["SỞ KẾ HOẠCH VÀ ĐẦU TƯ"], "SKHĐT", "Lâm Đồng"),
    ("UBND TỈNH HẢI DƯƠNG", ["TRUNG TÂM PHÁT TRIỂN QUỸ ĐẤT"], "TTPTQĐ", "Hải Dương"),
    (None, ["VIỆN KIỂM SÁT NHÂN DÂN", "TỐI CAO"], "VKSTC", "Hà Nội"),
    ("BỘ GIÁO DỤC VÀ ĐÀO TẠO", ["TRƯỜNG ĐẠI HỌC VINH"], "ĐHV", "Nghệ An"),
    ("UBND TỈNH ĐẮK LẮK", ["BAN QUẢN LÝ DỰ ÁN", "ĐẦU TƯ XÂY DỰNG TỈNH"], "BQLDA", "Đắk Lắk"),
    ("UBND THÀNH PHỐ HỒ CHÍ MINH", ["SỞ NỘI VỤ"], "SNV", "Thành phố Hồ Chí Minh"),
    (None, ["ỦY BAN NHÂN DÂN", "HUYỆN THANH TRÌ"], "UBND", "Thanh Trì"),
    ("UBND TỈNH QUẢNG NGÃI", ["SỞ THÔNG TIN VÀ TRUYỀN THÔNG"], "STTTT", "Quảng Ngãi"),
    ("UBND TỈNH VĨNH LONG", ["SỞ LAO ĐỘNG - THƯƠNG BINH", "VÀ XÃ HỘI"], "SLĐTBXH", "Vĩnh Long"),
]

# (title, notation abbreviation, type name, weight)
TYPES = [
    ("QUYẾT ĐỊNH", "QĐ", "Quyết định", 6), ("TỜ TRÌNH", "TTr", "Tờ trình", 3),
    ("THÔNG BÁO", "TB", "Thông báo", 3), ("KẾ HOẠCH", "KH", "Kế hoạch", 3),
    ("BÁO CÁO", "BC", "Báo cáo", 3), ("NGHỊ QUYẾT", "NQ", "Nghị quyết", 1),
    ("CHỈ THỊ", "CT", "Chỉ thị", 1), ("BIÊN BẢN", "BB", "Biên bản", 1),
    ("HƯỚNG DẪN", "HD", "Hướng dẫn", 1), ("CHƯƠNG TRÌNH", "CTr", "Chương trình", 1),
    ("GIẤY MỜI", "GM", "Giấy mời", 1), (None, None, "Công văn", 9),
]

SUBJECTS = [
    "Về việc thu hồi đất để thực hiện dự án mở rộng đường tỉnh 295B",
    "Về việc phê duyệt kế hoạch sử dụng đất năm 2024 của huyện",
    "Ban hành Quy chế làm việc của Ủy ban nhân dân tỉnh nhiệm kỳ 2021 - 2026",
    "Về việc công nhận kết quả trúng tuyển viên chức",
    "Phê duyệt đề án số hóa tài liệu lưu trữ giai đoạn 2023 - 2025",
    "Về việc thành lập Tổ công tác rà soát thủ tục hành chính",
    "Về tình hình thực hiện nhiệm vụ phát triển kinh tế - xã hội quý III",
    "Triển khai công tác phòng, chống thiên tai và tìm kiếm cứu nạn",
    "Về việc điều chỉnh giá đất cụ thể để tính tiền bồi thường",
    "Kết quả kiểm tra công tác văn thư, lưu trữ năm 2023",
    "Về việc giao chỉ tiêu kế hoạch đầu tư công trung hạn",
    "Tổ chức Hội nghị tổng kết công tác chuyển đổi số",
    "Về việc cấp giấy chứng nhận quyền sử dụng đất cho hộ gia đình, cá nhân",
    "Quy định chức năng, nhiệm vụ, quyền hạn và cơ cấu tổ chức của Sở",
]

VV = [
    "chuẩn bị tu bổ công trình thủy lợi trước mùa mưa lũ năm 2024",
    "góp ý dự thảo Quy định bảng giá đất",
    "báo cáo kết quả thực hiện cải cách hành chính",
    "tăng cường công tác phòng cháy, chữa cháy",
    "đề nghị cung cấp hồ sơ địa chính",
    "triển khai Nghị định số 30/2020/NĐ-CP về công tác văn thư",
    "hướng dẫn lập hồ sơ và nộp lưu hồ sơ, tài liệu vào Lưu trữ cơ quan",
    "rà soát, cập nhật cơ sở dữ liệu đất đai",
    "xin ý kiến về phương án bồi thường, hỗ trợ, tái định cư",
    "thực hiện chế độ báo cáo thống kê",
    "đôn đốc giải ngân vốn đầu tư công năm 2024",
    "tổ chức kiểm tra việc chấp hành pháp luật về tài nguyên nước",
]

RECIPIENTS = ["Các sở, ban, ngành thuộc tỉnh;", "Ủy ban nhân dân các huyện, thị xã, thành phố;",
              "Văn phòng Đăng ký đất đai tỉnh.", "Các phòng, đơn vị trực thuộc Sở;"]

SIGNERS = [("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"),
           ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", None), ("GIÁM ĐỐC", None, None),
           ("TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG", None)]
NAMES = ["Nguyễn Hữu Khang", "Hoàng Văn Thường", "Trần Thị Minh Hà", "Lê Quang Đạo",
         "Phạm Thị Thu Thủy", "Đặng Văn Minh", "Bùi Đức Lợi"]


def body_pool(root):
    """Sentences of the bodies of samples/text/*.txt (after the header)."""
    pool = []
    d = os.path.join(root, "samples", "text")
    for name in sorted(os.listdir(d)):
        lines = open(os.path.join(d, name), encoding="utf-8").read().split("\n")
        for ln in lines[8:]:
            s = ln.strip()
            if len(s) > 30 and not s.isupper():
                pool.append(s)
    return pool


def paragraphs(rng, pool, n):
    """n paragraphs of two to four sentences of the pool."""
    return [" ".join(rng.sample(pool, rng.randint(2, 4))) for _ in range(n)]


# Advance widths in em: (capital, small letter, digit, space) per font kind
# and weight, rough averages of the fonts' metrics for Vietnamese text.
ADVANCE = {("liberation-serif", False): (0.68, 0.46, 0.50, 0.25),
           ("liberation-serif", True): (0.72, 0.50, 0.50, 0.25),
           ("liberation-sans", False): (0.68, 0.52, 0.56, 0.28),
           ("liberation-sans", True): (0.72, 0.56, 0.56, 0.28),
           ("dejavu-serif", False): (0.74, 0.58, 0.64, 0.32),
           ("dejavu-serif", True): (0.80, 0.62, 0.70, 0.35),
           ("dejavu-sans", False): (0.72, 0.58, 0.64, 0.32),
           ("dejavu-sans", True): (0.78, 0.63, 0.70, 0.35)}


def est_width(text, pt, family, bold):
    """Estimated width of text in px at DPI."""
    cap, small, digit, space = ADVANCE[(family, bold)]
    w = 0.0
    for ch in text:
        w += (space if ch == " " else digit if ch.isdigit() else cap if ch.isupper()
              else small if ch.isalpha() else 0.35)
    return w * pt * DPI / 72 * 1.03


def fit_lines(text, pt, family, bold, width):
    """Break text into lines no wider than width (balanced, at words), as a
    word processor wraps a table cell."""
    words = text.split()
    for n in range(1, len(words) + 1):
        # split into n lines of about equal length
        lines, cur = [], []
        target = est_width(text, pt, family, bold) / n
        for w in words:
            if cur and est_width(" ".join(cur + [w]), pt, family, bold) > target * 1.15 \
                    and len(lines) < n - 1:
                lines.append(" ".join(cur))
                cur = [w]
            else:
                cur.append(w)
        lines.append(" ".join(cur))
        if all(est_width(ln, pt, family, bold) <= width for ln in lines):
            return lines
    return words


def wrap(text, width):
    """Greedy wrap at width characters."""
    out, cur = [], ""
    for w in text.split():
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = (cur + " " + w) if cur else w
    if cur:
        out.append(cur)
    return out


class Renderer:
    """Collects text lines per (style, size), renders them with text2image."""

    def __init__(self, work, family, fonts):
        self.work, self.family, self.fonts = work, family, fonts
        self.groups = {}   # key -> list of lines

    def add(self, style, pt, text):
        key = (style, pt)
        self.groups.setdefault(key, []).append(text)
        return key, len(self.groups[key]) - 1

    def font_name(self, style):
        fam, _ = self.fonts[self.family]
        suffix = {"regular": "", "bold": " Bold", "italic": " Italic",
                  "bolditalic": " Bold Italic"}[style]
        if fam.startswith("DejaVu Sans"):
            suffix = suffix.replace("Italic", "Oblique")
        return fam + suffix

    def render(self, tag):
        """Render every group; returns {key: (id, tif, box, nlines)}."""
        out = {}
        _, fdir = self.fonts[self.family]
        for i, (key, lines) in enumerate(sorted(self.groups.items())):
            style, pt = key
            base = os.path.join(self.work, f"{tag}-r{i}")
            with open(base + ".txt", "w", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
            ysize = int(len(lines) * pt * DPI / 72 * 2.4) + 600
            r = self.text2image(base, fdir, style, pt, 9000, ysize,
                                int(pt * DPI / 72 * 1.2))
            if "Dropped" in r.stderr:
                sys.exit(f"gen.py: {self.font_name(style)} cannot draw every letter of {base}.txt")
            out[key] = (f"r{i}", base + ".tif", base + ".box", len(lines))
        return out

    def render_block(self, tag, style, pt, paras, width_px):
        """A wrapped body block (text2image wraps at the page width)."""
        _, fdir = self.fonts[self.family]
        base = os.path.join(self.work, f"{tag}-body")
        with open(base + ".txt", "w", encoding="utf-8") as fh:
            fh.write("\n".join(paras) + "\n")
        self.text2image(base, fdir, style, pt, width_px + 400, PAGE_H,
                        int(pt * DPI / 72 * 0.45))
        return ("body", base + ".tif", base + ".box")

    def text2image(self, base, fdir, style, pt, xsize, ysize, leading):
        """Render base.txt to base.tif/.box, clean, one page; exit on failure."""
        cmd = ["text2image", "--text", base + ".txt", "--outputbase", base,
               "--fonts_dir", fdir, "--fontconfig_tmpdir", self.work,
               "--font", self.font_name(style), f"--xsize={xsize}",
               f"--ysize={ysize}", "--margin=200", f"--ptsize={pt}",
               f"--leading={leading}", f"--resolution={DPI}",
               "--degrade_image=false", "--rotate_image=false",
               "--distort_image=false", "--exposure=0", "--char_spacing=0",
               "--strip_unrenderable_words=false", "--max_pages=1"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(base + ".tif"):
            sys.exit(f"gen.py: text2image failed for {base}.txt:\n{r.stderr[-800:]}")
        return r


def vn_date(rng, year):
    """(printed date text after the place, ISO truth)."""
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    u = rng.random()
    mtxt = f"{m:02d}" if m < 3 else str(m)
    if u < 0.08:       # day left blank, filled by hand later
        return f"ngày      tháng {mtxt} năm {year}", f"{year}-{m:02d}"
    if u < 0.11:       # day and month blank
        return f"ngày      tháng      năm {year}", f"{year}"
    return f"ngày {d:02d} tháng {mtxt} năm {year}", f"{year}-{m:02d}-{d:02d}"


def first_page(rng, pool):
    """Content and truth of one first page."""
    parent, names, abbr, place = rng.choice(AGENCIES)
    weights = [t[3] for t in TYPES]
    title, tabbr, tname, _ = rng.choices(TYPES, weights)[0]
    year = rng.randint(2012, 2025)
    num = rng.randint(1, 2999)
    number = f"{num:02d}" if num < 10 and rng.random() < 0.7 else str(num)
    if title is None:
        unit = rng.choice(["VP", "NN", "KT", "TH", "QLĐĐ", "CTrTT", "TCCB", "PC"])
        notation = f"{abbr}-{unit}" if abbr != "UBND" or rng.random() < 0.5 else f"UBND-{unit}"
    elif tabbr in ("QĐ", "NQ", "CT") and rng.random() < 0.3:
        notation = f"{year}/{tabbr}-{abbr}"      # a legal document: year inside
    else:
        notation = f"{tabbr}-{abbr}"
    blank_number = rng.random() < 0.06
    datetxt, iso = vn_date(rng, year)
    if title is None:
        subject = rng.choice(VV)
    else:
        subject = rng.choice(SUBJECTS) if rng.random() < 0.85 else None
    organ = " ".join(names)
    truth = {"organ_parent": parent, "organ_name": organ,
             "code_number": None if blank_number else number,
             "code_notation": notation, "place": place, "issued_date": iso,
             "type_name": tname, "subject": subject}
    return {"parent": parent, "names": names, "title": title,
            "so": f"Số: {'       ' if blank_number else number}/{notation}",
            "date": f"{place}, {datetxt}", "subject": subject, "truth": truth,
            "authority": ("ỦY BAN NHÂN DÂN " + place.upper()) if tabbr == "QĐ" else None,
            "body": paragraphs(rng, pool, 5)}


def compose_first(rng, doc, R, tag, mkheader, out_png, pt_h, pt_t, body_pt):
    fam = R.family
    lm = int(rng.uniform(2.8, 3.2) * DPI / 2.54)       # left margin 28–32 mm
    rmg = int(rng.uniform(1.5, 2.0) * DPI / 2.54)      # right margin
    cw = PAGE_W - lm - rmg
    # the header is a two-cell table (NĐ 30 template): each block centred
    # in its cell, a line too wide for its cell wrapped as Word would
    lw = int(cw * rng.uniform(0.36, 0.42))
    pad = int(0.15 * DPI / 2.54)
    lcx = lm + lw // 2                                  # left column centre
    rcx = lm + lw + (cw - lw) // 2                      # right column centre
    qh = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    while pt_h > 11 and est_width(qh, pt_h, fam, True) > cw - lw - 2 * pad:
        pt_h -= 1
    while pt_t > 12 and est_width(doc["date"], pt_t, fam, False) > cw - lw - 2 * pad:
        pt_t -= 1
    em_h = pt_h * DPI / 72
    em_t = pt_t * DPI / 72
    pitch = int(em_h * rng.uniform(1.2, 1.35))
    top = int(rng.uniform(1.8, 2.5) * DPI / 2.54)
    if doc["parent"]:
        doc["parent_lines"] = fit_lines(doc["parent"], pt_h, fam, False, lw - 2 * pad)
    names = []
    for nm in doc["names"]:
        names += fit_lines(nm, pt_h, fam, True, lw - 2 * pad)
    doc["names"] = names
    ops = []   # (kind, args...)
    b = top + int(em_h)
    y = b
    # left block
    if doc["parent"]:
        for ln in doc["parent_lines"]:
            ops.append(("line", R.add("regular", pt_h, ln), "c", lcx, y))
            y += pitch
    for i, nm in enumerate(doc["names"]):
        style = "bold" if doc["parent"] or i > 0 or True else "regular"
        ops.append(("line", R.add(style, pt_h, nm), "c", lcx, y))
        if i + 1 < len(doc["names"]):
            y += pitch
    ops.append(("uline", rng.uniform(0.3, 0.45), int(em_h * 0.3), 5))
    left_last = y
    # right block
    y = b
    ops.append(("line", R.add("bold", pt_h, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), "c", rcx, y))
    y += pitch
    ops.append(("line", R.add("bold", pt_t, "Độc lập - Tự do - Hạnh phúc"), "c", rcx, y))
    ops.append(("uline", 1.0, int(em_t * 0.3), 5))
    right_last = y
    # Số and date row
    y = max(left_last, right_last) + int(pitch * rng.uniform(1.5, 1.9))
    ops.append(("line", R.add("regular", pt_h, doc["so"]), "c", lcx, y))
    date_anchor = rng.choice(["c", "c", "r"])
    ops.append(("line", R.add("italic", pt_t, doc["date"]), date_anchor,
                rcx if date_anchor == "c" else PAGE_W - rmg, y))
    y_so = y
    if doc["title"] is None:
        for ln in fit_lines("V/v " + doc["subject"], pt_h - 1, fam, False, lw - 2 * pad):
            y += int(pitch * 0.95)
            ops.append(("line", R.add("regular", pt_h - 1, ln), "c", lcx, y))
        y += int(pitch * 2.2)
        ops.append(("line", R.add("regular", body_pt, "Kính gửi: " + rng.choice(RECIPIENTS)),
                    "c", lm + cw // 2, y))
        y += int(pitch * 0.6)
    else:
        y = max(y, y_so) + int(pitch * rng.uniform(2.0, 2.6))
        ops.append(("line", R.add("bold", pt_t, doc["title"]), "c", lm + cw // 2, y))
        if doc["subject"]:
            for ln in fit_lines(doc["subject"], pt_t, fam, True,
                                int(cw * rng.uniform(0.7, 0.9))):
                y += int(em_t * 1.25)
                ops.append(("line", R.add("bold", pt_t, ln), "c", lm + cw // 2, y))
            ops.append(("uline", rng.uniform(0.25, 0.4), int(em_t * 0.35), 5))
        if doc["authority"]:
            y += int(em_t * 2.3)
            ops.append(("line", R.add("bold", pt_t, doc["authority"]), "c", lm + cw // 2, y))
        y += int(pitch * 0.5)
    renders = R.render(tag)
    body = R.render_block(tag, "regular", body_pt, doc["body"], cw)
    return write_spec(ops, renders, body, lm, y + int(em_t), mkheader, out_png, tag, R.work)


def write_spec(ops, renders, body, bx, by, mkheader, out_png, tag, work, maxh=None):
    spec = [f"canvas {PAGE_W} {PAGE_H}"]
    for key, (rid, tif, box, n) in sorted(renders.items(), key=lambda kv: kv[1][0]):
        spec.append(f"render {rid} {tif} {box} {n}")
    if body:
        spec.append(f"render body {body[1]} {body[2]}")
    for op in ops:
        if op[0] == "line":
            (key, k), anchor, x, y = op[1], op[2], op[3], op[4]
            spec.append(f"line {renders[key][0]} {k} {anchor} {int(x)} {int(y)}")
        elif op[0] == "uline":
            spec.append(f"uline {op[1]:.2f} {op[2]} {op[3]}")
        elif op[0] == "rule":
            spec.append(f"rule {op[1]} {op[2]} {op[3]} {op[4]}")
    if body:
        if maxh is None:
            maxh = PAGE_H - 500 - by
        spec.append(f"block body {bx} {by} {max(1, maxh)}")
    spec.append(f"out {out_png}")
    path = os.path.join(work, f"{tag}.spec")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(spec) + "\n")
    r = subprocess.run([mkheader, path], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"gen.py: mkheader failed on {path}: {r.stderr.strip()}")
    return out_png


def compose_cont(rng, kind, pool, R, tag, mkheader, out_png, pt, doc):
    em = pt * DPI / 72
    pitch = int(em * 1.3)
    lm = int(3.0 * DPI / 2.54)
    rmg = int(1.8 * DPI / 2.54)
    cw = PAGE_W - lm - rmg
    top = int(2.0 * DPI / 2.54)
    ops = []
    y = top + int(em)
    paras = paragraphs(rng, pool, 7)
    if kind == "pageno":
        ops.append(("line", R.add("regular", pt, str(rng.randint(2, 9))), "c", lm + cw // 2, y))
        y += pitch
    elif kind == "annex":
        ops.append(("line", R.add("bold", pt, "PHỤ LỤC"), "c", lm + cw // 2, y))
        y += pitch
        ref = (f"(Kèm theo Quyết định số {doc['truth']['code_number'] or '15'}/"
               f"{doc['truth']['code_notation']} {doc['date'].split(', ', 1)[1]} "
               f"của {doc['names'][-1].title() if doc['names'] else 'UBND tỉnh'})")
        for ln in wrap(ref, 70):
            ops.append(("line", R.add("italic", pt, ln), "c", lm + cw // 2, y))
            y += pitch
        paras = paras[:5]
    elif kind == "signature":
        paras = paras[:2]
    if kind == "signature":
        # body first, the signature block under it (interleaved columns)
        body = R.render_block(tag, "regular", pt, paras, cw)
        # rough body height: 3 paragraphs ≈ 8 lines
        ys = top + int(em * 1.5 * 9) + 2 * pitch
        signer = rng.choice(SIGNERS)
        left = ["Nơi nhận:", "- Như trên;", "- Lưu: VT, " + rng.choice(["NN", "TH", "KT"]) + "."]
        right = [s for s in signer if s] + ["", "", "", rng.choice(NAMES)]
        rows = max(len(left), len(right))
        for i in range(rows):
            yy = ys + i * pitch
            if i < len(left):
                st = "bolditalic" if i == 0 else "regular"
                ops.append(("line", R.add(st, pt - (0 if i == 0 else 2), left[i]), "l", lm, yy))
            if i < len(right) and right[i]:
                ops.append(("line", R.add("bold", pt, right[i]), "c", lm + int(cw * 0.7), yy))
        renders = R.render(tag)
        return write_spec(ops, renders, body, lm, top, mkheader, out_png, tag, R.work,
                          maxh=ys - top - 2 * pitch)
    renders = R.render(tag) if R.groups else {}
    body = R.render_block(tag, "regular", pt, paras, cw)
    return write_spec(ops, renders, body, lm, y, mkheader, out_png, tag, R.work)


def scan(rng, mksample, src, out, fmt, dpi, seed, right=None, blank=False):
    skew = round(rng.uniform(-2.5, 2.5), 2)
    rot = rng.choices([0, 90, 180, 270], [92, 3, 3, 2])[0]
    args = [mksample, "--in", src, "--in-dpi", str(DPI), "--out", out,
            "--format", fmt, "--dpi", str(dpi), "--seed", str(seed),
            "--skew", str(skew), "--rot", str(rot),
            "--noise", f"{rng.uniform(0, 4):.1f}" if fmt != "g4" else "0",
            "--speckle", str(rng.randint(0, 150))]
    if fmt in ("jpeg", "lzw", "png") and rng.random() < 0.3:
        args += ["--color", "rgb"] if fmt != "lzw" else []
    if right:
        args += ["--right", right]
    if blank:
        args += ["--blank"]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"gen.py: mksample failed for {out}: {r.stderr.strip()}")
    return {"skew": skew, "rot": rot, "format": fmt, "dpi": dpi}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--first", type=int, default=48)
    ap.add_argument("--cont", type=int, default=16)
    ap.add_argument("--seed", type=int, default=3030)
    ap.add_argument("--mkheader", required=True)
    ap.add_argument("--mksample", required=True)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rng = random.Random(a.seed)
    fonts = {"dejavu-serif": ("DejaVu Serif", FONT_DIRS["dejavu"]),
             "dejavu-sans": ("DejaVu Sans", FONT_DIRS["dejavu"])}
    if os.path.exists(os.path.join(FONT_DIRS["liberation"], "LiberationSerif-Regular.ttf")):
        fonts["liberation-serif"] = ("Liberation Serif", FONT_DIRS["liberation"])
        fonts["liberation-sans"] = ("Liberation Sans", FONT_DIRS["liberation"])
        fam_w = [("liberation-serif", 5), ("dejavu-serif", 2), ("liberation-sans", 2),
                 ("dejavu-sans", 1)]
    else:
        print("gen.py: fonts-liberation2 not installed; DejaVu fonts only", file=sys.stderr)
        fam_w = [("dejavu-serif", 3), ("dejavu-sans", 1)]
    work = os.path.join(a.out, "work")
    os.makedirs(work, exist_ok=True)
    os.makedirs(os.path.join(a.out, "scans"), exist_ok=True)
    pool = body_pool(root)
    pages = []
    cont_kinds = ["pageno", "plain", "signature", "annex"]
    docs = []
    n_two_up = max(1, a.first // 12)
    made_cont = 0
    for i in range(a.first + a.cont):
        is_first = i < a.first
        tag = f"p{i + 1:03d}"
        family = rng.choices([f for f, _ in fam_w], [w for _, w in fam_w])[0]
        R = Renderer(work, family, fonts)
        png = os.path.join(work, tag + ".png")
        fmt, dpi = rng.choice([("g4", 300), ("g4", 200), ("jpeg", 300), ("jpeg", 200),
                               ("lzw", 300), ("png", 300)])
        blank = not is_first and (made_cont + 1) % 8 == 0
        if blank:
            fmt, dpi = "g4", 300
        ext = {"g4": "tif", "lzw": "tif", "jpeg": "jpg", "png": "png"}[fmt]
        out = os.path.join(a.out, "scans", f"{tag}.{ext}")
        if is_first:
            doc = first_page(rng, pool)
            docs.append(doc)
            pt_h = rng.choice([12, 13])
            pt_t = rng.choice([13, 14])
            compose_first(rng, doc, R, tag, a.mkheader, png, pt_h, pt_t, rng.choice([13, 14]))
            right = None
            if i < n_two_up:
                # a two-up sheet: this first page left, a continuation right
                R2 = Renderer(work, family, fonts)
                png2 = os.path.join(work, tag + "b.png")
                compose_cont(rng, "plain", pool, R2, tag + "b", a.mkheader, png2, 13, doc)
                right = png2
            info = scan(rng, a.mksample, png, out, fmt, dpi, a.seed * 1000 + i, right=right)
            pages.append({"file": f"scans/{tag}.{ext}", "part": 0, "kind": "first",
                          "what": doc["title"] or "CÔNG VĂN", "font": family, **info,
                          "fields": doc["truth"]})
            if right:
                pages.append({"file": f"scans/{tag}.{ext}", "part": 1, "kind": "cont",
                              "what": "plain (right half of a two-up sheet)", "font": family,
                              **info})
        else:
            doc = docs[made_cont % len(docs)]
            kind = cont_kinds[made_cont % len(cont_kinds)]
            made_cont += 1
            if blank:
                # a blank back (holes, staple, bleed-through, page number)
                compose_cont(rng, "plain", pool, R, tag, a.mkheader, png, 13, doc)
                info = scan(rng, a.mksample, png, out, fmt, dpi, a.seed * 1000 + i, blank=True)
                pages.append({"file": f"scans/{tag}.{ext}", "part": 0, "kind": "blank",
                              "what": "blank back", **info})
                print(f"gen.py: {tag} blank", file=sys.stderr)
                continue
            compose_cont(rng, kind, pool, R, tag, a.mkheader, png, rng.choice([13, 14]), doc)
            info = scan(rng, a.mksample, png, out, fmt, dpi, a.seed * 1000 + i)
            pages.append({"file": f"scans/{tag}.{ext}", "part": 0, "kind": "cont",
                          "what": kind, "font": family, **info})
        print(f"gen.py: {tag} {pages[-1]['kind']} {pages[-1].get('what', '')}", file=sys.stderr)
    for p in pages:
        f = p.get("fields")
        if f:
            for k, v in f.items():
                if isinstance(v, str):
                    f[k] = unicodedata.normalize("NFC", v)
    with open(os.path.join(a.out, "truth.json"), "w", encoding="utf-8") as fh:
        json.dump({"seed": a.seed, "pages": pages}, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
