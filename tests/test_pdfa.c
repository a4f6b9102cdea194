/*
 * test_pdfa.c — PDF/A-2b structure of the writer's output and the text
 * read-back check.
 *
 * PDF/A: veraPDF is not in Debian, so the rules are checked one by one:
 * the header bytes, qpdf --check, pdffonts (font embedded), the objects
 * through libqpdf (trailer /ID, no /Encrypt, only Flate/DCT/CCITT, no
 * actions, JavaScript, transparency or /Interpolate; Metadata stream
 * unfiltered with /Type /Metadata /Subtype /XML; the OutputIntent and its
 * ICC stream with /N 3 holding the profile's bytes; the font's /DW equal
 * to the advance in the embedded TrueType, CIDToGIDMap never to .notdef,
 * text in render mode 3), the XMP parsed by python3's XML parser (packet
 * header, pdfaid, Dublin Core, dates, ids, hoso fields and their extension
 * schema) and compared with Info.  When PDFBox's Preflight is installed
 * (Debian libpdfbox2-java, optional) the file, relabelled part 1, must
 * also pass its PDF/A-1b validation, the stricter older part.
 *
 * Read-back: normal pages pass (Vietnamese, a two-column header, words a
 * hair apart, U+FFFD mappings, a real Tesseract page); a dropped
 * diacritic, a wrong character, a missing and an extra word fail; a PDF
 * whose ToUnicode map is wrong fails at commit and leaves nothing behind.
 */
#include "test.h"
#include "../ocr/pdf.h"
#include "../ocr/readback.h"
#include "../scanners/prep.h"
#include "../scanners/scan.h"

#include <dirent.h>
#include <jansson.h>
#include <qpdf/qpdf-c.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ICC_PATH "/usr/share/color/icc/sRGB.icc"
#define PREFLIGHT_JAR "/usr/share/java/preflight.jar"

/* ---- helpers ---------------------------------------------------------- */

static int have(const char *cmd)
{
    char c[256];
    snprintf(c, sizeof c, "command -v %s >/dev/null 2>&1", cmd);
    return system(c) == 0;
}

typedef struct {
    const char *text;
    int x0, y0, x1, y1, line;
} tword;

static void fill_words(sh_words *ws, sh_word *buf, const tword *tw, int n)
{
    memset(ws, 0, sizeof *ws);
    for (int i = 0; i < n; i++)
        buf[i] = (sh_word){.text = (char *)tw[i].text, .x0 = tw[i].x0,
                           .y0 = tw[i].y0, .x1 = tw[i].x1, .y1 = tw[i].y1,
                           .conf = 90, .line = tw[i].line,
                           .baseline_y = -1};
    ws->w = buf;
    ws->n = ws->cap = n;
}

/* A Vietnamese page at 100 px/inch (pt_per_px 0.72) on 612x792 pt: a
   two-column header (the right column's lines are lines 1 and 3, read by
   poppler in its own order), body lines, words a hair apart, odd bytes. */
static const tword viet_words[] = {
    {"ỦY", 40, 40, 75, 60, 0},
    {"BAN", 80, 40, 125, 60, 0},
    {"NHÂN", 130, 40, 185, 60, 0},
    {"DÂN", 190, 40, 235, 60, 0},
    {"CỘNG", 420, 40, 480, 60, 1},
    {"HÒA", 485, 40, 530, 60, 1},
    {"XÃ", 535, 40, 565, 60, 1},
    {"HỘI", 570, 40, 610, 60, 1},
    {"CHỦ", 615, 40, 660, 60, 1},
    {"NGHĨA", 665, 40, 735, 60, 1},
    {"VIỆT", 740, 40, 790, 60, 1},
    {"NAM", 795, 40, 840, 60, 1},
    {"TỈNH", 60, 70, 115, 90, 2},
    {"HÀ", 120, 70, 150, 90, 2},
    {"NAM", 155, 70, 200, 90, 2},
    {"Độc", 470, 70, 510, 90, 3},
    {"lập", 515, 70, 550, 90, 3},
    {"-", 556, 78, 562, 82, 3},
    {"Tự", 568, 70, 595, 90, 3},
    {"do", 600, 70, 625, 90, 3},
    {"-", 631, 78, 637, 82, 3},
    {"Hạnh", 643, 70, 700, 90, 3},
    {"phúc", 705, 70, 760, 90, 3},
    {"Quyết", 60, 200, 130, 230, 4},
    {"định", 140, 200, 200, 230, 4},
    {"số", 210, 200, 235, 230, 4},
    {"05/QĐ-UBND", 245, 200, 400, 230, 4},
    {"về", 410, 200, 440, 230, 4},
    {"việc", 450, 200, 500, 230, 4},
    {"cấp", 510, 200, 550, 230, 4},
    {"giấy", 560, 200, 615, 230, 4},
    {"chứng", 625, 200, 700, 230, 4},
    {"nhận", 710, 200, 770, 230, 4},
    {"quyền", 60, 250, 135, 280, 5},
    {"sử", 137, 250, 165, 280, 5},       /* a hair apart: may merge */
    {"dụng", 166, 250, 230, 280, 5},
    {"đất", 240, 250, 285, 280, 5},
    {"đai", 295, 250, 335, 280, 5},
    {"Ư", 345, 250, 365, 280, 5},
    {"ơ", 375, 250, 390, 280, 5},
    /* NFD input: e + U+0302 + U+0301 — NFC on both sides */
    {"ke\xCC\x82\xCC\x81t", 400, 250, 450, 280, 5},
    /* a bad byte and a non-BMP character: the writer shows U+FFFD */
    {"a\xFF" "b", 60, 300, 110, 330, 6},
    {"x\xF0\x9F\x98\x80y", 120, 300, 190, 330, 6},
    /* skipped by the writer: empty text, empty box */
    {"", 200, 300, 240, 330, 6},
    {"rỗng", 250, 300, 250, 330, 6},
};
#define NVIET ((int)SH_ARRAY_LEN(viet_words))

static const char *viet_title = "Hồ sơ cấp giấy chứng nhận <&> \"đất\"";

static const sh_pdf_field viet_fields[] = {
    {"FileCode", "H23.01.05.2024.00012"},
    {"OrganId", "H23.01.05"},
    {"FileCatalog", "2024"},
    {"FileNotation", "12/HS"},
    {"Title", "Hồ sơ về đất đai & nhà ở <số 12>"},
    {"Maintenance", "Vĩnh viễn"},
    {"Rights", "Hạn chế"},
    {"Language", "Tiếng Việt"},
    {"StartDate", "2024-01-05"},
    {"EndDate", "2024-03-30"},
    {"DocTotal", "7"},
    {"PageTotal", "4"},
    {"SheetTotal", "3"},
    {"Description", "dòng 1\r\ndòng 2\tcột"},
    {"Agency", "STNMT"},
    {"ExtraNote1", "ctrl\x01" "char and bad \xC3 byte"},
    {"Skipped", NULL},
};

/* Build the fixture: 4 pages — G4 with the Vietnamese text, JPEG RGB,
   Flate RGB, Flate gray with no text — with the metadata above. */
static int make_fixture(const char *path, sh_readback *rb, sh_err *err)
{
    int rc;
    sh_pdf *p = NULL;
    sh_pdf_image im[4];
    memset(im, 0, sizeof im);
    PIX *bw = pixCreate(850, 1100, 1);
    pixRasterop(bw, 100, 100, 300, 50, PIX_SET, NULL, 0, 0);
    PIX *rgb = pixCreate(200, 150, 32);
    for (int y = 0; y < 150; y++)
        for (int x = 0; x < 200; x++) {
            l_uint32 v;
            composeRGBPixel(x, y, 255 - x, &v);
            pixSetPixel(rgb, x, y, v);
        }
    PIX *gray = pixCreate(100, 100, 8);
    pixSetAllArbitrary(gray, 77);
    l_uint8 *jpg = NULL;
    size_t jn = 0;
    pixWriteMemJpeg(&jpg, &jn, rgb, 80, 0);
    if ((rc = sh_pdf_image_from_pix(bw, &im[0], err)) ||
        (rc = sh_pdf_image_from_jpeg(jpg, jn, &im[1], err)) ||
        (rc = sh_pdf_image_from_pix(rgb, &im[2], err)) ||
        (rc = sh_pdf_image_from_pix(gray, &im[3], err)))
        goto out;
    sh_word wb[NVIET];
    sh_words ws;
    fill_words(&ws, wb, viet_words, NVIET);
    if ((rc = sh_pdf_open(path, "HS-2024-00012", &p, err)))
        goto out;
    sh_pdf_meta m = {.title = viet_title,
                     .creator = "Sở Tài nguyên và Môi trường",
                     .description = "Hồ sơ đất đai, phường 5",
                     .fields = viet_fields,
                     .nfields = (int)SH_ARRAY_LEN(viet_fields)};
    if ((rc = sh_pdf_set_meta(p, &m, err)))
        goto out;
    sh_pdf_page pg[4] = {
        {.w_pt = 612, .h_pt = 792, .img = &im[0],
         .img_matrix = {612, 0, 0, 792, 0, 0}, .words = &ws,
         .pt_per_px = 0.72},
        {.w_pt = 200, .h_pt = 150, .img = &im[1],
         .img_matrix = {200, 0, 0, 150, 0, 0}},
        {.w_pt = 200, .h_pt = 150, .img = &im[2],
         .img_matrix = {0, -150, 200, 0, 0, 150}},
        {.w_pt = 100, .h_pt = 100, .img = &im[3],
         .img_matrix = {100, 0, 0, 100, 0, 0}},
    };
    for (int i = 0; i < 4; i++) {
        if ((rc = sh_pdf_add_page(p, &pg[i], err)))
            goto out;
        if (rb && (rc = sh_readback_add_page(rb, pg[i].words, err)))
            goto out;
    }
    if (rb)
        sh_pdf_set_check(p, sh_readback_check, rb);
    rc = sh_pdf_commit(&p, err);
out:
    sh_pdf_abort(&p);
    for (int i = 0; i < 4; i++)
        sh_pdf_image_release(&im[i]);
    pixDestroy(&bw);
    pixDestroy(&rgb);
    pixDestroy(&gray);
    lept_free(jpg);
    return rc;
}

/* ---- qpdf object helpers --------------------------------------------- */

static qpdf_oh key(qpdf_data q, qpdf_oh d, const char *k)
{
    if (qpdf_oh_is_stream(q, d))
        d = qpdf_oh_get_dict(q, d);
    return qpdf_oh_get_key(q, d, k);
}

static int name_is(qpdf_data q, qpdf_oh d, const char *k, const char *v)
{
    return qpdf_oh_is_name_and_equals(q, key(q, d, k), v);
}

/* Decoded (level) stream data, malloc'd; NULL on failure. */
static unsigned char *sdata(qpdf_data q, qpdf_oh s, int level, size_t *n)
{
    unsigned char *b = NULL;
    *n = 0;
    if (qpdf_oh_get_stream_data(q, s, (enum qpdf_stream_decode_level_e)level,
                                NULL, &b, n) & QPDF_ERRORS)
        return NULL;
    return b;
}

/* Is "/KEY" present in s as a whole name? */
static int has_name(const char *s, const char *k)
{
    size_t kl = strlen(k);
    for (const char *at = s; (at = strstr(at, k)); at += kl) {
        char c = at[kl];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 1;
    }
    return 0;
}

static uint32_t be16(const uint8_t *b)
{
    return (uint32_t)b[0] << 8 | b[1];
}

static uint32_t be32(const uint8_t *b)
{
    return be16(b) << 16 | be16(b + 2);
}

/* Advance width of glyph gid in a TrueType file, in 1/1000 em; -1 when
   the tables cannot be read. */
static int tt_advance(const uint8_t *f, size_t n, int gid)
{
    if (n < 12)
        return -1;
    uint32_t head = 0, hhea = 0, hmtx = 0;
    int nt = (int)be16(f + 4);
    for (int i = 0; i < nt && 12 + 16 * (size_t)i + 16 <= n; i++) {
        const uint8_t *r = f + 12 + 16 * i;
        if (!memcmp(r, "head", 4))
            head = be32(r + 8);
        else if (!memcmp(r, "hhea", 4))
            hhea = be32(r + 8);
        else if (!memcmp(r, "hmtx", 4))
            hmtx = be32(r + 8);
    }
    if (!head || !hhea || !hmtx || head + 20 > n || hhea + 36 > n)
        return -1;
    uint32_t upem = be16(f + head + 18), nh = be16(f + hhea + 34);
    uint32_t idx = (uint32_t)gid < nh ? (uint32_t)gid : nh - 1;
    if (!upem || hmtx + 4 * idx + 2 > n)
        return -1;
    return (int)(be16(f + hmtx + 4 * idx) * 1000 / upem);
}

/* "D:YYYYMMDDHHmmSS+HH'mm'" → "YYYY-MM-DDTHH:mm:SS+HH:mm". */
static void pdf_to_xmp_date(const char *d, char out[40])
{
    out[0] = 0;
    if (strlen(d) != 23 || strncmp(d, "D:", 2))
        return;
    snprintf(out, 40, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s%c%.2s:%.2s", d + 2,
             d + 6, d + 8, d + 10, d + 12, d + 14, d[16], d + 17, d + 20);
}

/* python3: parse the XMP, print what the C side checks, as JSON. */
static const char xmp_py[] =
    "import sys, json, re\n"
    "import xml.etree.ElementTree as ET\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "root = ET.fromstring(data)\n"
    "R = '{http://www.w3.org/1999/02/22-rdf-syntax-ns#}'\n"
    "X = '{http://www.w3.org/XML/1998/namespace}lang'\n"
    "ID = '{http://www.aiim.org/pdfa/ns/id/}'\n"
    "DC = '{http://purl.org/dc/elements/1.1/}'\n"
    "XMP = '{http://ns.adobe.com/xap/1.0/}'\n"
    "PDF = '{http://ns.adobe.com/pdf/1.3/}'\n"
    "MM = '{http://ns.adobe.com/xap/1.0/mm/}'\n"
    "EXT = '{http://www.aiim.org/pdfa/ns/extension/}'\n"
    "SCH = '{http://www.aiim.org/pdfa/ns/schema#}'\n"
    "PRP = '{http://www.aiim.org/pdfa/ns/property#}'\n"
    "HOSO = '{http://sohoa.vn/ns/hoso/1.0/}'\n"
    "out = {}\n"
    "m = re.match(rb'<\\?xpacket ([^?]*)\\?>', data)\n"
    "out['header'] = m.group(1).decode('utf-8') if m else ''\n"
    "out['end'] = data.endswith(b'<?xpacket end=\"w\"?>')\n"
    "descs = root.findall(R + 'RDF/' + R + 'Description')\n"
    "out['abouts'] = [d.get(R + 'about') for d in descs]\n"
    "out['first_is_ext'] = len(descs) > 0 and len(descs[0]) > 0 and "
    "descs[0][0].tag == EXT + 'schemas'\n"
    "props = {}\n"
    "for d in descs:\n"
    "    for c in d:\n"
    "        props.setdefault(c.tag, []).append(c)\n"
    "out['dups'] = [t for t, v in props.items() if len(v) > 1]\n"
    "def text(t):\n"
    "    return props[t][0].text if t in props else None\n"
    "def lis(t, kind):\n"
    "    if t not in props: return None\n"
    "    c = props[t][0].find(R + kind)\n"
    "    if c is None: return 'not a ' + kind\n"
    "    return [[li.text or '', li.get(X)] for li in c.findall(R + 'li')]\n"
    "out['part'] = text(ID + 'part')\n"
    "out['conformance'] = text(ID + 'conformance')\n"
    "out['title'] = lis(DC + 'title', 'Alt')\n"
    "out['creator'] = lis(DC + 'creator', 'Seq')\n"
    "out['description'] = lis(DC + 'description', 'Alt')\n"
    "out['language'] = lis(DC + 'language', 'Bag')\n"
    "for k in ('CreateDate', 'ModifyDate', 'MetadataDate', 'CreatorTool'):\n"
    "    out[k] = text(XMP + k)\n"
    "out['Producer'] = text(PDF + 'Producer')\n"
    "out['DocumentID'] = text(MM + 'DocumentID')\n"
    "out['InstanceID'] = text(MM + 'InstanceID')\n"
    "out['hoso'] = {t[len(HOSO):]: v[0].text or '' for t, v in props.items()"
    " if t.startswith(HOSO)}\n"
    "ext = []\n"
    "if EXT + 'schemas' in props:\n"
    "    bag = props[EXT + 'schemas'][0].find(R + 'Bag')\n"
    "    for s in bag.findall(R + 'li'):\n"
    "        e = {'ns': s.findtext(SCH + 'namespaceURI'),\n"
    "             'prefix': s.findtext(SCH + 'prefix'),\n"
    "             'schema': s.findtext(SCH + 'schema'),\n"
    "             'parseType': s.get(R + 'parseType'), 'props': []}\n"
    "        for p in s.find(SCH + 'property').find(R + 'Seq').findall(R + "
    "'li'):\n"
    "            e['props'].append({'name': p.findtext(PRP + 'name'),\n"
    "                'valueType': p.findtext(PRP + 'valueType'),\n"
    "                'category': p.findtext(PRP + 'category'),\n"
    "                'description': p.findtext(PRP + 'description')})\n"
    "        ext.append(e)\n"
    "out['ext'] = ext\n"
    "print(json.dumps(out))\n";

static json_t *parse_xmp(const unsigned char *x, size_t n)
{
    char xp[512], py[512], cmd[1200];
    sh_test_path(xp, sizeof xp, "xmp.xml");
    sh_test_path(py, sizeof py, "xmp.py");
    sh_err err = {0};
    if (sh_write_atomic(xp, x, n, &err) ||
        sh_write_atomic(py, xmp_py, strlen(xmp_py), &err))
        return NULL;
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s'", py, xp);
    sh_buf out = {0};
    json_t *j = NULL;
    if (sh_test_run(cmd, &out) == 0 && out.data)
        j = json_loads(out.data, 0, NULL);
    sh_buf_release(&out);
    return j;
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* [[text, lang], ...] with one item: its text (lang checked if given). */
static const char *jli1(json_t *o, const char *k, const char *lang)
{
    json_t *a = json_object_get(o, k);
    if (!json_is_array(a) || json_array_size(a) != 1)
        return NULL;
    json_t *it = json_array_get(a, 0);
    if (lang && !(json_string_value(json_array_get(it, 1)) &&
                  !strcmp(json_string_value(json_array_get(it, 1)), lang)))
        return NULL;
    return json_string_value(json_array_get(it, 0));
}

/* ---- 1. the PDF/A-2b structure ---------------------------------------- */

static int check_structure(const char *pdf)
{
    char cmd[1400];
    int r = 1;
    qpdf_data q = NULL;
    json_t *x = NULL;
    unsigned char *meta = NULL, *icc = NULL, *font = NULL, *map = NULL;
    uint8_t *iccf = NULL, *head = NULL;
    size_t nmeta = 0, nicc = 0, nfont = 0, nmap = 0, niccf = 0, nhead = 0;
    sh_err err = {0};
    sh_buf out = {0};

    /* header: %PDF-1.7, then % and four bytes over 127 */
    CHECK(sh_read_file(pdf, 0, &head, &nhead, &err) == SH_OK && nhead > 20);
    int hdr_ok = !memcmp(head, "%PDF-1.7\n%", 10) && head[10] > 127 &&
                 head[11] > 127 && head[12] > 127 && head[13] > 127 &&
                 head[14] == '\n';
    /* nothing after %%EOF but one EOL */
    int eof_ok = nhead > 6 && !memcmp(head + nhead - 6, "%%EOF\n", 6);
    free(head);
    CHECK(hdr_ok);
    CHECK(eof_ok);

    snprintf(cmd, sizeof cmd, "qpdf --check '%s' 2>&1", pdf);
    CHECKF(sh_test_run(cmd, &out) == 0 && strstr(out.data, "No syntax or stream "
           "encoding errors"), "qpdf --check: %s", out.data);
    out.len = 0;
    if (have("pdffonts")) {
        snprintf(cmd, sizeof cmd, "pdffonts '%s'", pdf);
        CHECK(sh_test_run(cmd, &out) == 0 && out.data);
        char name[64], t1[32], t2[32], enc[32], emb[8], sub[8], uni[8];
        const char *l = strstr(out.data, "GlyphLessFont");
        CHECK(l && sscanf(l, "%63s %31s %31s %31s %7s %7s %7s", name, t1, t2,
                          enc, emb, sub, uni) == 7);
        CHECKF(!strcmp(emb, "yes") && !strcmp(uni, "yes"), "pdffonts: %s",
               out.data);
    }
    sh_buf_release(&out);

    q = qpdf_init();
    qpdf_set_suppress_warnings(q, QPDF_TRUE);
    CHECK(!(qpdf_read(q, pdf, "") & QPDF_ERRORS));
    CHECK(!strcmp(qpdf_get_pdf_version(q), "1.7"));
    CHECK(!qpdf_is_encrypted(q));
    qpdf_oh tr = qpdf_get_trailer(q), root = qpdf_get_root(q);
    CHECK(!qpdf_oh_has_key(q, tr, "/Encrypt"));

    /* trailer /ID: two equal 16-byte strings */
    qpdf_oh id = qpdf_oh_get_key(q, tr, "/ID");
    CHECK(qpdf_oh_is_array(q, id) && qpdf_oh_get_array_n_items(q, id) == 2);
    size_t l0 = 0, l1 = 0;
    const char *id0 = qpdf_oh_get_binary_string_value(
        q, qpdf_oh_get_array_item(q, id, 0), &l0);
    char id0c[16];
    CHECK(l0 == 16);
    memcpy(id0c, id0, 16);
    const char *id1 = qpdf_oh_get_binary_string_value(
        q, qpdf_oh_get_array_item(q, id, 1), &l1);
    CHECK(l1 == 16 && !memcmp(id0c, id1, 16));
    char idhex[33];
    for (int i = 0; i < 16; i++)
        snprintf(idhex + 2 * i, 3, "%02x", (unsigned char)id0c[i]);

    /* every object: allowed filters only, nothing forbidden */
    int size = qpdf_oh_get_int_value_as_int(q, qpdf_oh_get_key(q, tr, "/Size"));
    CHECK(size > 10);
    static const char *const forbidden[] = {
        "/Encrypt", "/JavaScript", "/JS", "/AA", "/OpenAction", "/Launch",
        "/SMask", "/Group", "/CA", "/ca", "/BM", "/TR", "/TR2", "/HTP",
        "/Alternates", "/OPI", "/Interpolate", "/EmbeddedFiles", "/XFA",
        "/NeedsRendering", "/Annots", "/F", "/FFilter", "/FDecodeParms"};
    for (int i = 1; i < size; i++) {
        qpdf_oh o = qpdf_get_object_by_id(q, i, 0);
        qpdf_oh d = qpdf_oh_is_stream(q, o) ? qpdf_oh_get_dict(q, o) : o;
        if (!qpdf_oh_is_dictionary(q, d))
            continue;
        const char *u = qpdf_oh_unparse(q, d);
        for (size_t k = 0; k < SH_ARRAY_LEN(forbidden); k++)
            CHECKF(!has_name(u, forbidden[k]), "object %d has %s: %s", i,
                   forbidden[k], u);
        if (qpdf_oh_is_stream(q, o) && qpdf_oh_has_key(q, d, "/Filter")) {
            qpdf_oh f = qpdf_oh_get_key(q, d, "/Filter");
            CHECKF(qpdf_oh_is_name_and_equals(q, f, "/FlateDecode") ||
                   qpdf_oh_is_name_and_equals(q, f, "/DCTDecode") ||
                   qpdf_oh_is_name_and_equals(q, f, "/CCITTFaxDecode"),
                   "object %d: filter %s", i, qpdf_oh_unparse(q, f));
        }
    }

    /* Catalog: Metadata, OutputIntents, Lang */
    qpdf_oh md = qpdf_oh_get_key(q, root, "/Metadata");
    CHECK(qpdf_oh_is_stream(q, md));
    CHECK(name_is(q, md, "/Type", "/Metadata") &&
          name_is(q, md, "/Subtype", "/XML"));
    CHECK(!qpdf_oh_has_key(q, qpdf_oh_get_dict(q, md), "/Filter"));
    meta = sdata(q, md, qpdf_dl_none, &nmeta);
    CHECK(meta && nmeta > 100);
    CHECK(!strcmp(qpdf_oh_get_utf8_value(q, qpdf_oh_get_key(q, root, "/Lang")),
                  "vi"));
    qpdf_oh ois = qpdf_oh_get_key(q, root, "/OutputIntents");
    CHECK(qpdf_oh_is_array(q, ois) && qpdf_oh_get_array_n_items(q, ois) == 1);
    qpdf_oh oi = qpdf_oh_get_array_item(q, ois, 0);
    CHECK(name_is(q, oi, "/Type", "/OutputIntent") &&
          name_is(q, oi, "/S", "/GTS_PDFA1"));
    CHECK(qpdf_oh_is_string(q, qpdf_oh_get_key(q, oi,
                                               "/OutputConditionIdentifier")));
    CHECK(!qpdf_oh_has_key(q, oi, "/DestOutputProfileRef"));
    qpdf_oh prof = qpdf_oh_get_key(q, oi, "/DestOutputProfile");
    CHECK(qpdf_oh_is_stream(q, prof));
    CHECK(qpdf_oh_get_int_value_as_int(q, key(q, prof, "/N")) == 3);
    CHECK(name_is(q, prof, "/Filter", "/FlateDecode"));
    icc = sdata(q, prof, qpdf_dl_generalized, &nicc);
    const char *iccp = getenv("SOHOA_ICC");
    CHECK(sh_read_file(iccp && iccp[0] ? iccp : ICC_PATH, 0, &iccf, &niccf,
                       &err) == SH_OK);
    CHECKF(icc && nicc == niccf && !memcmp(icc, iccf, nicc),
           "the embedded profile differs from %s", ICC_PATH);
    CHECK(!memcmp(icc + 12, "mntr", 4) && !memcmp(icc + 16, "RGB ", 4) &&
          icc[8] >= 2 && icc[8] <= 4);

    /* the font: Type0 → CIDFontType2, DW = the glyph's advance, the map
       never to glyph 0 (.notdef), ToUnicode present, program embedded */
    qpdf_oh kids = key(q, qpdf_oh_get_key(q, root, "/Pages"), "/Kids");
    qpdf_oh pg1 = qpdf_oh_get_array_item(q, kids, 0);
    qpdf_oh f1 = key(q, key(q, pg1, "/Resources"), "/Font");
    f1 = qpdf_oh_get_key(q, f1, "/F1");
    CHECK(name_is(q, f1, "/Subtype", "/Type0") &&
          name_is(q, f1, "/Encoding", "/Identity-H"));
    CHECK(qpdf_oh_is_stream(q, qpdf_oh_get_key(q, f1, "/ToUnicode")));
    qpdf_oh cid = qpdf_oh_get_array_item(q, qpdf_oh_get_key(q, f1,
                                                            "/DescendantFonts"), 0);
    CHECK(name_is(q, cid, "/Subtype", "/CIDFontType2"));
    int dw = qpdf_oh_get_int_value_as_int(q, qpdf_oh_get_key(q, cid, "/DW"));
    CHECK(!qpdf_oh_has_key(q, cid, "/W"));
    qpdf_oh c2g = qpdf_oh_get_key(q, cid, "/CIDToGIDMap");
    CHECK(qpdf_oh_is_stream(q, c2g));
    map = sdata(q, c2g, qpdf_dl_generalized, &nmap);
    CHECK(map && nmap == 2 * 65536);
    for (size_t i = 0; i < nmap; i += 2)
        CHECKF(map[i] == 0 && map[i + 1] == 1, "CID %zu maps to glyph %u",
               i / 2, (unsigned)(map[i] << 8 | map[i + 1]));
    qpdf_oh fd = qpdf_oh_get_key(q, cid, "/FontDescriptor");
    qpdf_oh ff = qpdf_oh_get_key(q, fd, "/FontFile2");
    CHECK(qpdf_oh_is_stream(q, ff));
    font = sdata(q, ff, qpdf_dl_generalized, &nfont);
    CHECK(font && nfont > 12);
    int adv = tt_advance(font, nfont, 1);
    CHECKF(adv == dw, "/DW %d but glyph 1 advances %d", dw, adv);
    CHECK(qpdf_oh_get_int_value_as_int(q, key(q, ff, "/Length1")) ==
          (int)nfont);

    /* page 1's text: every BT sets render mode 3 before showing text */
    unsigned char *cs = NULL;
    size_t ncs = 0;
    cs = sdata(q, qpdf_oh_get_key(q, pg1, "/Contents"), qpdf_dl_generalized,
               &ncs);
    CHECK(cs && ncs > 0);
    sh_buf c = {0};
    sh_buf_add(&c, cs, ncs);
    free(cs);
    int nbt = 0, ok3 = 1;
    for (const char *at = c.data; (at = strstr(at, "BT\n")); at += 3) {
        nbt++;
        const char *tj = strstr(at, "Tj"), *tr3 = strstr(at, "3 Tr");
        if (!tr3 || (tj && tr3 > tj))
            ok3 = 0;
    }
    sh_buf_release(&c);
    CHECK(nbt > 0 && ok3);

    /* Info */
    qpdf_oh info = qpdf_oh_get_key(q, tr, "/Info");
    char title[512], author[512], subject[512], cdate[64], mdate[64];
    snprintf(title, sizeof title, "%s",
             qpdf_oh_get_utf8_value(q, qpdf_oh_get_key(q, info, "/Title")));
    snprintf(author, sizeof author, "%s",
             qpdf_oh_get_utf8_value(q, qpdf_oh_get_key(q, info, "/Author")));
    snprintf(subject, sizeof subject, "%s",
             qpdf_oh_get_utf8_value(q, qpdf_oh_get_key(q, info, "/Subject")));
    snprintf(cdate, sizeof cdate, "%s", qpdf_oh_get_utf8_value(
                 q, qpdf_oh_get_key(q, info, "/CreationDate")));
    snprintf(mdate, sizeof mdate, "%s",
             qpdf_oh_get_utf8_value(q, qpdf_oh_get_key(q, info, "/ModDate")));
    CHECK(!strcmp(qpdf_oh_get_utf8_value(q, qpdf_oh_get_key(q, info,
                                                            "/Producer")),
                  "sohoa"));
    CHECK(!strcmp(qpdf_oh_get_utf8_value(q, qpdf_oh_get_key(q, info,
                                                            "/Creator")),
                  "sohoa"));
    CHECK(!strcmp(title, viet_title));

    /* XMP, parsed by another XML parser */
    if (!have("python3")) {
        r = 0;
        goto out;
    }
    x = parse_xmp(meta, nmeta);
    CHECKF(x != NULL, "the XMP does not parse");
    const char *h = jstr(x, "header");
    CHECKF(h && strstr(h, "begin=\"\xEF\xBB\xBF\"") &&
           strstr(h, "id=\"W5M0MpCehiHzreSzNTczkc9d\"") &&
           !strstr(h, "bytes=") && !strstr(h, "encoding="), "header %s", h);
    CHECK(json_is_true(json_object_get(x, "end")));
    json_t *ab = json_object_get(x, "abouts");
    CHECK(json_array_size(ab) == 2);
    for (size_t i = 0; i < json_array_size(ab); i++)
        CHECK(json_string_value(json_array_get(ab, i)) &&
              !strcmp(json_string_value(json_array_get(ab, i)), ""));
    CHECK(json_is_true(json_object_get(x, "first_is_ext")));
    CHECK(json_array_size(json_object_get(x, "dups")) == 0);
    CHECK(jstr(x, "part") && !strcmp(jstr(x, "part"), "2"));
    CHECK(jstr(x, "conformance") && !strcmp(jstr(x, "conformance"), "B"));
    /* Info ↔ XMP */
    const char *xt = jli1(x, "title", "x-default");
    CHECKF(xt && !strcmp(xt, title), "dc:title %s vs Info %s", xt, title);
    const char *xc = jli1(x, "creator", NULL);
    CHECKF(xc && !strcmp(xc, author), "dc:creator %s vs Author %s", xc,
           author);
    const char *xd = jli1(x, "description", "x-default");
    CHECKF(xd && !strcmp(xd, subject), "dc:description %s vs Subject %s", xd,
           subject);
    CHECK(jli1(x, "language", NULL) && !strcmp(jli1(x, "language", NULL),
                                               "vi"));
    char iso[40];
    pdf_to_xmp_date(cdate, iso);
    CHECKF(jstr(x, "CreateDate") && !strcmp(jstr(x, "CreateDate"), iso),
           "CreateDate %s vs Info %s", jstr(x, "CreateDate"), cdate);
    pdf_to_xmp_date(mdate, iso);
    CHECKF(jstr(x, "ModifyDate") && !strcmp(jstr(x, "ModifyDate"), iso),
           "ModifyDate %s vs Info %s", jstr(x, "ModifyDate"), mdate);
    CHECK(jstr(x, "MetadataDate") && !strcmp(jstr(x, "MetadataDate"), iso));
    CHECK(jstr(x, "Producer") && !strcmp(jstr(x, "Producer"), "sohoa"));
    CHECK(jstr(x, "CreatorTool") && !strcmp(jstr(x, "CreatorTool"), "sohoa"));
    /* ids: uuid of the /ID bytes */
    const char *did = jstr(x, "DocumentID");
    CHECK(did && jstr(x, "InstanceID") && !strcmp(did, jstr(x, "InstanceID")));
    char u[64];
    snprintf(u, sizeof u, "uuid:%.8s-%.4s-%.4s-%.4s-%.12s", idhex, idhex + 8,
             idhex + 12, idhex + 16, idhex + 20);
    CHECKF(!strcmp(did, u), "DocumentID %s, /ID %s", did, idhex);
    r = 0;
out:
    json_decref(x);
    free(meta);
    free(icc);
    free(iccf);
    free(font);
    free(map);
    if (q)
        qpdf_cleanup(&q);
    return r;
}

static int test_structure(void)
{
    if (!have("qpdf"))
        return SH_SKIP;
    char pdf[512];
    sh_test_path(pdf, sizeof pdf, "pdfa.pdf");
    sh_err err = {0};
    CHECKF(make_fixture(pdf, NULL, &err) == SH_OK, "%s", err.msg);
    return check_structure(pdf);
}

/* The archival fields: each one in the XMP as given (escaped, CR kept,
   bad bytes and controls as U+FFFD) and described as Text. */
static int test_fields(void)
{
    if (!have("qpdf") || !have("python3"))
        return SH_SKIP;
    char pdf[512];
    sh_test_path(pdf, sizeof pdf, "fields.pdf");
    sh_err err = {0};
    CHECKF(make_fixture(pdf, NULL, &err) == SH_OK, "%s", err.msg);
    qpdf_data q = qpdf_init();
    CHECK(!(qpdf_read(q, pdf, "") & QPDF_ERRORS));
    size_t n = 0;
    unsigned char *meta = sdata(q, qpdf_oh_get_key(q, qpdf_get_root(q),
                                                   "/Metadata"),
                                qpdf_dl_none, &n);
    qpdf_cleanup(&q);
    CHECK(meta != NULL);
    json_t *x = parse_xmp(meta, n);
    free(meta);
    CHECK(x != NULL);
    json_t *hoso = json_object_get(x, "hoso");
    json_t *ext = json_object_get(x, "ext");
    CHECK(json_array_size(ext) == 1);
    json_t *e = json_array_get(ext, 0);
    CHECK(!strcmp(jstr(e, "ns"), "http://sohoa.vn/ns/hoso/1.0/"));
    CHECK(!strcmp(jstr(e, "prefix"), "hoso"));
    CHECK(jstr(e, "schema") && jstr(e, "parseType") &&
          !strcmp(jstr(e, "parseType"), "Resource"));
    json_t *props = json_object_get(e, "props");
    size_t given = SH_ARRAY_LEN(viet_fields) - 1;   /* NULL value: left out */
    CHECKF(json_object_size(hoso) == given, "%zu hoso fields",
           json_object_size(hoso));
    CHECK(json_array_size(props) == given);
    for (size_t i = 0; i < given; i++) {
        const sh_pdf_field *f = &viet_fields[i];
        const char *got = jstr(hoso, f->name);
        CHECKF(got != NULL, "hoso:%s missing", f->name);
        if (!strcmp(f->name, "ExtraNote1"))
            CHECKF(!strcmp(got, "ctrl\xEF\xBF\xBD" "char and bad \xEF\xBF\xBD"
                           " byte"), "ExtraNote1 = %s", got);
        else
            CHECKF(!strcmp(got, f->value), "hoso:%s = [%s], want [%s]",
                   f->name, got, f->value);
        json_t *p = json_array_get(props, i);
        CHECK(!strcmp(jstr(p, "name"), f->name));
        CHECK(!strcmp(jstr(p, "valueType"), "Text"));
        CHECK(!strcmp(jstr(p, "category"), "external"));
        CHECK(jstr(p, "description") && strlen(jstr(p, "description")) > 3);
    }
    CHECK(json_object_get(hoso, "Skipped") == NULL);
    json_decref(x);
    return 0;
}

/* sh_pdf_set_meta refuses what would spoil the XMP or the PDF/A. */
static int test_meta_usage(void)
{
    char pdf[512];
    sh_test_path(pdf, sizeof pdf, "usage.pdf");
    sh_err err = {0};
    sh_pdf *p = NULL;
    CHECKF(sh_pdf_open(pdf, NULL, &p, &err) == SH_OK, "%s", err.msg);
    static const char *const bad_names[] = {"", "1abc", "a-b", "T\xC3\xAAn",
                                            "a b", "x:y", "_a"};
    for (size_t i = 0; i < SH_ARRAY_LEN(bad_names); i++) {
        sh_pdf_field f = {bad_names[i], "v"};
        sh_pdf_meta m = {.fields = &f, .nfields = 1};
        err.msg[0] = 0;
        CHECKF(sh_pdf_set_meta(p, &m, &err) == SH_EUSAGE, "name [%s]",
               bad_names[i]);
        CHECK(strstr(err.msg, pdf) && strstr(err.msg, "field 1"));
    }
    char longname[80];
    memset(longname, 'a', 65);
    longname[65] = 0;
    sh_pdf_field fl = {longname, "v"};
    sh_pdf_meta ml = {.fields = &fl, .nfields = 1};
    CHECK(sh_pdf_set_meta(p, &ml, &err) == SH_EUSAGE);
    sh_pdf_field nul = {NULL, "v"};
    ml.fields = &nul;
    CHECK(sh_pdf_set_meta(p, &ml, &err) == SH_EUSAGE);
    sh_pdf_field dup[] = {{"Code", "1"}, {"Code", "2"}};
    sh_pdf_meta md = {.fields = dup, .nfields = 2};
    CHECK(sh_pdf_set_meta(p, &md, &err) == SH_EUSAGE);
    CHECK(strstr(err.msg, "Code") && strstr(err.msg, "twice"));
    static const char *const bad_lang[] = {"", "vi_VN", "123", "vi-",
                                           "toolonglanguage", "vi VN"};
    for (size_t i = 0; i < SH_ARRAY_LEN(bad_lang); i++) {
        sh_pdf_meta m = {.language = bad_lang[i]};
        CHECKF(sh_pdf_set_meta(p, &m, &err) == SH_EUSAGE, "lang [%s]",
               bad_lang[i]);
    }
    sh_pdf_meta mneg = {.nfields = -1};
    CHECK(sh_pdf_set_meta(p, &mneg, &err) == SH_EUSAGE);
    sh_pdf_meta mnull = {.nfields = 2};
    CHECK(sh_pdf_set_meta(p, &mnull, &err) == SH_EUSAGE);
    CHECK(sh_pdf_set_meta(NULL, &mnull, &err) == SH_EUSAGE);
    CHECK(sh_pdf_set_meta(p, NULL, &err) == SH_EUSAGE);
    char *big = malloc(8002);
    CHECK(big != NULL);
    memset(big, 'x', 8001);
    big[8001] = 0;
    sh_pdf_meta mbig = {.title = big};
    CHECK(sh_pdf_set_meta(p, &mbig, &err) == SH_EUSAGE);
    free(big);

    /* good: tags with regions, names with digits; a later call replaces */
    sh_pdf_field good[] = {{"A1", "one"}, {"FileCode", "X"}};
    sh_pdf_meta mg = {.language = "vi-VN", .creator = "first",
                      .fields = good, .nfields = 2};
    CHECKF(sh_pdf_set_meta(p, &mg, &err) == SH_OK, "%s", err.msg);
    sh_pdf_meta mg2 = {.title = "Later", .language = "en"};
    CHECK(sh_pdf_set_meta(p, &mg2, &err) == SH_OK);
    /* a refused call keeps what was set */
    CHECK(sh_pdf_set_meta(p, &md, &err) == SH_EUSAGE);

    PIX *pix = pixCreate(50, 50, 8);
    pixSetAllArbitrary(pix, 128);
    sh_pdf_image im;
    CHECK(sh_pdf_image_from_pix(pix, &im, &err) == SH_OK);
    pixDestroy(&pix);
    sh_pdf_page pg = {.w_pt = 50, .h_pt = 50, .img = &im,
                      .img_matrix = {50, 0, 0, 50, 0, 0}};
    pg.w_pt = 2.5;                       /* PDF/A: sides of 3 pt at least */
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_EUSAGE);
    pg.w_pt = 50;
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    CHECKF(sh_pdf_commit(&p, &err) == SH_OK, "%s", err.msg);
    sh_pdf_image_release(&im);

    if (have("pdfinfo")) {
        char cmd[1200];
        sh_buf o = {0};
        snprintf(cmd, sizeof cmd, "pdfinfo -meta '%s'", pdf);
        CHECK(sh_test_run(cmd, &o) == 0 && o.data);
        CHECK(strstr(o.data, "<rdf:li>en</rdf:li>"));
        CHECK(strstr(o.data, ">Later</rdf:li>"));
        CHECK(!strstr(o.data, "first") && !strstr(o.data, "hoso:"));
        CHECK(!strstr(o.data, "pdfaExtension"));
        sh_buf_release(&o);
    }
    return 0;
}

/* The ICC profile: missing or unusable → a clear error, nothing made. */
static int test_icc_errors(void)
{
    const char *dir = sh_test_tmpdir();
    char pdf[512], junk[512];
    sh_test_path(pdf, sizeof pdf, "icc.pdf");
    sh_test_path(junk, sizeof junk, "junk.icc");
    sh_err err = {0};
    sh_pdf *p = NULL;

    setenv("SOHOA_ICC", "/nonexistent/sRGB.icc", 1);
    int rc = sh_pdf_open(pdf, NULL, &p, &err);
    CHECK(rc == SH_EIO && p == NULL);
    CHECKF(strstr(err.msg, "/nonexistent/sRGB.icc") &&
           strstr(err.msg, "icc-profiles-free") && strstr(err.msg, pdf),
           "%s", err.msg);
    CHECK(sh_test_count_names(dir, "icc.pdf") == 0);

    /* not an ICC profile */
    char notp[200];
    memset(notp, '.', sizeof notp);
    memcpy(notp, "not a profile", 13);
    CHECK(sh_write_atomic(junk, notp, sizeof notp, &err) == SH_OK);
    setenv("SOHOA_ICC", junk, 1);
    rc = sh_pdf_open(pdf, NULL, &p, &err);
    CHECKF(rc == SH_EINPUT && strstr(err.msg, junk) &&
           strstr(err.msg, "not an ICC"), "%d %s", rc, err.msg);

    /* a real profile of the wrong kind: gray */
    const char *gray = "/usr/share/color/icc/Gray.icc";
    if (sh_test_file_exists(gray)) {
        setenv("SOHOA_ICC", gray, 1);
        rc = sh_pdf_open(pdf, NULL, &p, &err);
        CHECKF(rc == SH_EINPUT && strstr(err.msg, "not an RGB"), "%d %s", rc,
               err.msg);
    }
    /* a truncated sRGB */
    uint8_t *icc = NULL;
    size_t n = 0;
    if (sh_read_file(ICC_PATH, 0, &icc, &n, &err) == SH_OK) {
        CHECK(sh_write_atomic(junk, icc, n - 100, &err) == SH_OK);
        setenv("SOHOA_ICC", junk, 1);
        rc = sh_pdf_open(pdf, NULL, &p, &err);
        CHECKF(rc == SH_EINPUT && strstr(err.msg, "truncated"), "%d %s", rc,
               err.msg);
        free(icc);
    }
    unsetenv("SOHOA_ICC");
    CHECK(sh_test_count_names(dir, "icc.pdf") == 0);
    return 0;
}

/* PDFBox Preflight (optional): the file, relabelled PDF/A-1, passes its
   PDF/A-1b validation — fonts, XMP syntax and Info/XMP agreement,
   OutputIntent, file structure by a second, independent implementation. */
static int test_preflight(void)
{
    if (!have("java") || !sh_test_file_exists(PREFLIGHT_JAR) || !have("qpdf"))
        return SH_SKIP;
    char pdf[512], a1[512], cmd[2400];
    sh_test_path(pdf, sizeof pdf, "pf.pdf");
    sh_test_path(a1, sizeof a1, "pf-a1.pdf");
    sh_err err = {0};
    CHECKF(make_fixture(pdf, NULL, &err) == SH_OK, "%s", err.msg);
    uint8_t *b = NULL;
    size_t n = 0;
    CHECK(sh_read_file(pdf, 0, &b, &n, &err) == SH_OK);
    static const char part[] = "<pdfaid:part>2</pdfaid:part>";
    uint8_t *at = memmem(b, n, part, sizeof part - 1);
    CHECK(at != NULL);
    at[13] = '1';                          /* same length: offsets hold */
    CHECK(sh_write_atomic(a1, b, n, &err) == SH_OK);
    free(b);
    static const char *const jars[] = {
        "preflight", "pdfbox2", "fontbox2", "xmpbox", "commons-logging",
        "javax.activation", "jaxb-api"};
    char cp[1024] = "";
    for (size_t i = 0; i < SH_ARRAY_LEN(jars); i++) {
        char j[128];
        snprintf(j, sizeof j, "/usr/share/java/%s.jar", jars[i]);
        if (!sh_test_file_exists(j))
            return SH_SKIP;                /* Preflight's run-time deps */
        snprintf(cp + strlen(cp), sizeof cp - strlen(cp), "%s%s", i ? ":" : "",
                 j);
    }
    sh_buf out = {0};
    snprintf(cmd, sizeof cmd, "java -cp '%s' org.apache.pdfbox.preflight."
             "Validator_A1b '%s' 2>&1", cp, a1);
    sh_test_run(cmd, &out);
    CHECKF(out.data && strstr(out.data, "is a valid PDF/A-1b file"), "%s",
           out.data ? out.data : "(no output)");
    sh_buf_release(&out);
    return 0;
}

/* ---- 2. the read-back check ------------------------------------------- */

/* Normal pages pass: the fixture, checked at commit. */
static int test_readback_ok(void)
{
    char pdf[512];
    sh_test_path(pdf, sizeof pdf, "rb.pdf");
    sh_err err = {0};
    sh_readback *rb = NULL;
    CHECK(sh_readback_new(&rb, &err) == SH_OK);
    CHECKF(make_fixture(pdf, rb, &err) == SH_OK, "%s", err.msg);
    int pages = 0;
    double secs = 0;
    sh_readback_stats(rb, &pages, &secs);
    CHECK(pages == 4);
    sh_readback_free(&rb);
    CHECK(rb == NULL);
    sh_readback_free(&rb);
    CHECK(sh_test_file_exists(pdf));

    int n = 0;
    char **t = NULL;
    CHECKF(sh_pdf_read_text(pdf, &n, &t, &err) == SH_OK, "%s", err.msg);
    CHECK(n == 4 && t);
    /* what poppler gives keeps the marks */
    CHECKF(strstr(t[0], "Quyết") && strstr(t[0], "đất") &&
           strstr(t[0], "CỘNG") && strstr(t[0], "a\xEF\xBF\xBD" "b") &&
           strstr(t[0], "x\xEF\xBF\xBDy"), "page 1: %s", t[0]);
    CHECK(!strstr(t[0], "rỗng"));
    for (int i = 1; i < 4; i++)
        CHECK(t[i] && strspn(t[i], " \n\f") == strlen(t[i]));
    /* and the per-page API agrees */
    sh_word wb[NVIET];
    sh_words ws;
    fill_words(&ws, wb, viet_words, NVIET);
    sh_textcheck tc;
    int rc = sh_text_check(&ws, t[0], &tc);
    CHECKF(rc == SH_OK, "%s", tc.first_diff);
    CHECK(tc.ocr_words == NVIET - 2 && tc.missing_chars == 0 &&
          tc.extra_chars == 0 && tc.first_diff[0] == 0);
    CHECK(tc.pdf_words >= tc.ocr_words - tc.missing);
    CHECK(sh_text_check(NULL, t[1], &tc) == SH_OK && tc.ocr_words == 0);
    CHECK(sh_text_check(NULL, NULL, &tc) == SH_OK);
    CHECK(sh_text_check(&ws, t[0], NULL) == SH_EUSAGE);
    sh_pdf_texts_free(&t, n);
    CHECK(t == NULL);

    /* reading leaves the file as it was (the OutputIntents key is hidden
       in a private mapping only) */
    char before[65], after[65];
    CHECK(sh_sha256_file(pdf, before, &err) == SH_OK);
    CHECK(sh_pdf_read_text(pdf, &n, &t, &err) == SH_OK);
    sh_pdf_texts_free(&t, n);
    CHECK(sh_sha256_file(pdf, after, &err) == SH_OK);
    CHECK(!strcmp(before, after));

    /* files poppler cannot read: missing, empty (not mappable) */
    CHECK(sh_pdf_read_text("/nonexistent/x.pdf", &n, &t, &err) == SH_EINPUT);
    CHECK(n == 0 && t == NULL && strstr(err.msg, "/nonexistent/x.pdf"));
    char empty[512];
    sh_test_path(empty, sizeof empty, "empty.pdf");
    CHECK(sh_write_atomic(empty, "", 0, &err) == SH_OK);
    CHECK(sh_pdf_read_text(empty, &n, &t, &err) == SH_EINPUT);
    CHECK(n == 0 && t == NULL && strstr(err.msg, empty));
    CHECK(sh_pdf_read_text(NULL, &n, &t, &err) == SH_EUSAGE);
    return 0;
}

/* The same text checked against altered OCR words: each change is caught
   and named. */
static int test_readback_detects(void)
{
    char pdf[512];
    sh_test_path(pdf, sizeof pdf, "rbd.pdf");
    sh_err err = {0};
    CHECKF(make_fixture(pdf, NULL, &err) == SH_OK, "%s", err.msg);
    int n = 0;
    char **t = NULL;
    CHECK(sh_pdf_read_text(pdf, &n, &t, &err) == SH_OK && n == 4);
    static const struct {
        int idx;              /* word to change (-1: add one)   */
        const char *text;     /* its new OCR text (NULL: drop)  */
        const char *in_diff;  /* first_diff must name this      */
    } rows[] = {
        {36, "đât", "\"đât\""},        /* the PDF has đất: a mark differs */
        {36, "dat", "\"dat\""},
        {24, "đinh", "\"đinh\""},      /* định → đinh */
        {0, "ỦY", NULL},               /* unchanged: passes */
        {26, "05/QĐ-UBNĐ", "05/QĐ-UBNĐ"}, /* a wrong letter */
        {30, NULL, "\"giấy\""},       /* a word the OCR lacks: extra */
        {-1, "thêm", "\"thêm\""},      /* a word the PDF lacks: missing */
        {38, "U", "\"U\""},            /* Ư → U */
    };
    for (size_t r = 0; r < SH_ARRAY_LEN(rows); r++) {
        sh_word wb[NVIET + 1];
        sh_words ws;
        fill_words(&ws, wb, viet_words, NVIET);
        if (rows[r].idx < 0) {
            wb[NVIET] = (sh_word){.text = (char *)rows[r].text, .x0 = 500,
                                  .y0 = 600, .x1 = 560, .y1 = 630,
                                  .line = 9, .baseline_y = -1};
            ws.n = NVIET + 1;
        } else if (!rows[r].text) {
            wb[rows[r].idx].text = "";         /* skipped, as the writer */
        } else {
            wb[rows[r].idx].text = (char *)rows[r].text;
        }
        sh_textcheck tc;
        int rc = sh_text_check(&ws, t[0], &tc);
        if (!rows[r].in_diff) {
            CHECKF(rc == SH_OK, "row %zu: %s", r, tc.first_diff);
            continue;
        }
        CHECKF(rc == SH_EINPUT, "row %zu passed", r);
        CHECKF(strstr(tc.first_diff, rows[r].in_diff), "row %zu: %s", r,
               tc.first_diff);
        CHECK(tc.missing + tc.extra > 0);
        CHECK(tc.missing_chars + tc.extra_chars > 0);
    }
    sh_pdf_texts_free(&t, n);
    return 0;
}

/* A many-column sheet (nine pages laid 3x3): the OCR gives each column's
   lines in turn, the second reader goes across the sheet, gluing the end
   of a line to the start of the line beside it.  Content, not order, is
   compared: that passes; a lost accent or a missing word still fails. */
static int test_readback_many_columns(void)
{
    static const char *col[3][2] = {{"Quyết định thu", "hồi đất đai"},
                                    {"Tờ trình số", "112 ngày 26"},
                                    {"Công văn về", "việc bồi thường"}};
    sh_word wb[64];
    char *txt[64];
    int n = 0;
    for (int c = 0; c < 3; c++)          /* OCR order: column by column */
        for (int l = 0; l < 2; l++) {
            char line[64];
            snprintf(line, sizeof line, "%s", col[c][l]);
            for (char *sv = NULL, *t = strtok_r(line, " ", &sv); t;
                 t = strtok_r(NULL, " ", &sv)) {
                txt[n] = strdup(t);
                wb[n] = (sh_word){.text = txt[n], .x0 = 100 * c + 10 * n,
                                  .y0 = 40 * l, .x1 = 100 * c + 10 * n + 8,
                                  .y1 = 40 * l + 20, .conf = 90,
                                  .line = 2 * c + l, .baseline_y = -1};
                n++;
            }
        }
    sh_words ws = {.w = wb, .n = n, .cap = n};
    /* the reader's order: across the sheet, neighbours glued */
    const char *across = "Quyết định thuTờ trình sốCông văn về\n"
                         "hồi đất đai112 ngày 26việc bồi thường\n";
    sh_textcheck tc;
    int rc = sh_text_check(&ws, across, &tc);
    CHECKF(rc == SH_OK, "%s", tc.first_diff);
    CHECK(tc.missing > 0 && tc.missing_chars == 0 && tc.extra_chars == 0);
    const char *lost = "Quyết định thuTờ trình sốCông văn về\n"
                       "hồi đât đai112 ngày 26việc bồi thường\n";
    CHECK(sh_text_check(&ws, lost, &tc) == SH_EINPUT);
    CHECKF(strstr(tc.first_diff, "đất"), "%s", tc.first_diff);
    const char *missing = "Quyết định thuTờ trình sốCông văn về\n"
                          "hồi đai112 ngày 26việc bồi thường\n";
    CHECK(sh_text_check(&ws, missing, &tc) == SH_EINPUT);
    for (int i = 0; i < n; i++)
        free(txt[i]);
    return 0;
}

/* Words squeezed into tiny boxes (Tesseract's noise, dotted leaders):
   poppler would drop repeated glyphs closer than 0.1 of the size; the
   writer keeps them apart, so they read back whole. */
static int test_readback_squeezed(void)
{
    static const struct {
        const char *text;
        int x0, y0, x1, y1, line, base, lh;
    } sq[] = {
        {"Số:", 100, 100, 160, 140, 0, 132, 83},
        {"__", 170, 130, 174, 134, 0, 132, 83},
        {"................", 180, 128, 240, 132, 0, 132, 83},
        {"/QĐ-UBND", 250, 100, 420, 140, 0, 132, 83},
        {"-", 430, 120, 433, 123, 0, 132, 83},
        {"-", 434, 120, 437, 123, 0, 132, 83},   /* the same, 1 px on */
        {"lll", 440, 100, 443, 140, 0, 132, 83},
        {"ii", 100, 200, 101, 240, 1, -1, 0},
    };
    enum { N = (int)SH_ARRAY_LEN(sq) };
    sh_word wb[N];
    sh_words ws = {wb, N, N, NULL, 0};
    for (int i = 0; i < N; i++)
        wb[i] = (sh_word){.text = (char *)sq[i].text, .x0 = sq[i].x0,
                          .y0 = sq[i].y0, .x1 = sq[i].x1, .y1 = sq[i].y1,
                          .line = sq[i].line, .baseline_y = sq[i].base,
                          .line_h = sq[i].lh, .conf = 50};
    char pdf[512];
    sh_test_path(pdf, sizeof pdf, "squeezed.pdf");
    sh_err err = {0};
    sh_readback *rb = NULL;
    CHECK(sh_readback_new(&rb, &err) == SH_OK);
    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(pdf, NULL, &p, &err) == SH_OK);
    sh_pdf_page pg = {.w_pt = 612, .h_pt = 792, .words = &ws,
                      .pt_per_px = 0.24};
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    CHECK(sh_readback_add_page(rb, &ws, &err) == SH_OK);
    sh_pdf_set_check(p, sh_readback_check, rb);
    int rc = sh_pdf_commit(&p, &err);
    sh_readback_free(&rb);
    CHECKF(rc == SH_OK, "%s", err.msg);
    int n = 0;
    char **t = NULL;
    CHECK(sh_pdf_read_text(pdf, &n, &t, &err) == SH_OK && n == 1);
    int dashes = 0;
    for (const char *c = t[0]; (c = strchr(c, '-')); c++)
        dashes++;
    int ok = strstr(t[0], "__") && strstr(t[0], "................") &&
             strstr(t[0], "lll") && strstr(t[0], "ii") && dashes == 3;
    char got[512];
    snprintf(got, sizeof got, "%s", t[0]);
    sh_pdf_texts_free(&t, n);
    CHECKF(ok, "poppler read [%s]", got);
    return 0;
}

/* A check that rewrites the temp file with a wrong ToUnicode (U+01xx
   mapped to U+0061.., so đ reads as r) before the real check runs. */
static int spoil_then_check(const char *tmp, void *ctx, sh_err *err)
{
    char qdf[1200], cmd[4000];
    snprintf(qdf, sizeof qdf, "%s.qdf", tmp);
    snprintf(cmd, sizeof cmd, "qpdf --qdf --object-streams=disable '%s' '%s'",
             tmp, qdf);
    if (system(cmd) != 0)
        return sh_errf(err, SH_EIO, "qpdf --qdf failed");
    uint8_t *b = NULL;
    size_t n = 0;
    if (sh_read_file(qdf, 0, &b, &n, err))
        return SH_EIO;
    static const char line[] = "<0100> <01FF> <0100>";
    uint8_t *at = memmem(b, n, line, sizeof line - 1);
    if (at)
        memcpy(at + 15, "0061", 4);
    int rc = at ? sh_write_atomic(qdf, b, n, err) : SH_EIO;
    free(b);
    unlink(tmp);
    snprintf(cmd, sizeof cmd, "fix-qdf '%s' > '%s'", qdf, tmp);
    if (rc || system(cmd) != 0)
        return sh_errf(err, SH_EIO, "could not spoil the ToUnicode map");
    unlink(qdf);
    return sh_readback_check(tmp, ctx, err);
}

static int test_readback_bad_tounicode(void)
{
    if (!have("qpdf") || !have("fix-qdf"))
        return SH_SKIP;
    const char *dir = sh_test_tmpdir();
    char pdf[512];
    sh_test_path(pdf, sizeof pdf, "spoilt.pdf");
    sh_err err = {0};
    sh_readback *rb = NULL;
    CHECK(sh_readback_new(&rb, &err) == SH_OK);
    sh_word wb[NVIET];
    sh_words ws;
    fill_words(&ws, wb, viet_words, NVIET);
    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(pdf, "spoilt", &p, &err) == SH_OK);
    sh_pdf_page pg = {.w_pt = 612, .h_pt = 792, .words = &ws,
                      .pt_per_px = 0.72};
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    CHECK(sh_readback_add_page(rb, &ws, &err) == SH_OK);
    sh_pdf_set_check(p, spoil_then_check, rb);
    int rc = sh_pdf_commit(&p, &err);
    sh_readback_free(&rb);
    CHECKF(rc == SH_EINPUT, "rc %d: %s", rc, err.msg);
    /* the first OCR word hit: NGHĨA (Ĩ is U+0128, read as U+0089) */
    CHECKF(strstr(err.msg, pdf) && strstr(err.msg, "page 1") &&
           strstr(err.msg, "OCR \"NGHĨA\" is not in the PDF text (it has "
                  "\"") && strstr(err.msg, "<U+0089>"), "%s", err.msg);
    CHECK(p == NULL && !sh_test_file_exists(pdf));
    CHECK(sh_test_count_names(dir, "spoilt.pdf") == 0);
    return 0;
}

/* The commit hook itself: the check sees the finished file under the
   temp name; a refusal leaves nothing. */
static int seen_ok;
static int look_check(const char *tmp, void *ctx, sh_err *err)
{
    const char *final = ctx;
    uint8_t *b = NULL;
    size_t n = 0;
    if (sh_read_file(tmp, 0, &b, &n, err))
        return SH_EIO;
    seen_ok = n > 20 && !memcmp(b + n - 6, "%%EOF\n", 6) &&
              !sh_test_file_exists(final) && strstr(tmp, ".tmp.") != NULL;
    free(b);
    return SH_OK;
}

static int refuse_check(const char *tmp, void *ctx, sh_err *err)
{
    return sh_errf(err, SH_EINPUT, "refused for the test");
}

static int test_check_hook(void)
{
    const char *dir = sh_test_tmpdir();
    char pdf[512];
    sh_test_path(pdf, sizeof pdf, "hook.pdf");
    sh_err err = {0};
    sh_pdf *p = NULL;
    sh_pdf_page pg = {.w_pt = 100, .h_pt = 100};
    CHECK(sh_pdf_open(pdf, NULL, &p, &err) == SH_OK);
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    sh_pdf_set_check(p, look_check, pdf);
    seen_ok = 0;
    CHECK(sh_pdf_commit(&p, &err) == SH_OK);
    CHECK(seen_ok && sh_test_file_exists(pdf));
    unlink(pdf);

    CHECK(sh_pdf_open(pdf, NULL, &p, &err) == SH_OK);
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    sh_pdf_set_check(p, refuse_check, NULL);
    CHECK(sh_pdf_commit(&p, &err) == SH_EINPUT && p == NULL);
    CHECKF(!strncmp(err.msg, pdf, strlen(pdf)) &&
           strstr(err.msg, "refused for the test"), "%s", err.msg);
    CHECK(sh_test_count_names(dir, "hook.pdf") == 0);

    /* NULL unsets; NULL writer is harmless */
    CHECK(sh_pdf_open(pdf, NULL, &p, &err) == SH_OK);
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    sh_pdf_set_check(p, refuse_check, NULL);
    sh_pdf_set_check(p, NULL, NULL);
    sh_pdf_set_check(NULL, refuse_check, NULL);
    CHECK(sh_pdf_commit(&p, &err) == SH_OK && sh_test_file_exists(pdf));
    /* and a page count that disagrees is caught */
    sh_readback *rb = NULL;
    CHECK(sh_readback_new(&rb, &err) == SH_OK);
    CHECK(sh_readback_check(pdf, rb, &err) == SH_EINPUT);
    CHECK(strstr(err.msg, "1 page") && strstr(err.msg, "0 were written"));
    sh_readback_free(&rb);
    return 0;
}

/* A real page: Tesseract on samples/batch/HS-2024-00002/0001.jpg (a
   300 dpi công văn), written and read back.  Prints what it cost. */
static int test_readback_real_page(void)
{
    char src[512], pdf[512];
    snprintf(src, sizeof src, "%s/batch/HS-2024-00002/0001.jpg",
             sh_test_samples);
    if (!sh_test_file_exists(src))
        return SH_SKIP;
    sh_test_path(pdf, sizeof pdf, "real.pdf");
    sh_err err = {0};
    sh_scan *sc = NULL;
    sh_frame f = {0};
    CHECKF(sh_scan_open(src, NULL, &sc, &err) == SH_OK &&
           sh_scan_read(sc, 0, &f, &err) == SH_OK, "%s", err.msg);
    sh_prep_opts o = {0};
    o.no_orient = 1;
    sh_prepped pp;
    CHECK(sh_prep_page(&f, &o, &pp, &err) == SH_OK);
    sh_frame_release(&f);
    sh_scan_close(&sc);
    sh_ocr *e = NULL;
    if (sh_ocr_new(NULL, NULL, &e, &err) != SH_OK) {
        sh_prepped_release(&pp);
        return SH_SKIP;
    }
    sh_words ws = {0};
    CHECKF(sh_ocr_page(e, pp.ocr, (int)pp.geom.ocr_dpi, 0, &ws, &err) ==
           SH_OK, "%s", err.msg);
    sh_ocr_free(&e);
    CHECK(ws.n > 150);
    sh_pdf_image im;
    CHECK(sh_pdf_image_from_pix(pp.ocr, &im, &err) == SH_OK);
    double k = 72.0 / pp.geom.ocr_dpi;
    double w = pixGetWidth(pp.ocr) * k, h = pixGetHeight(pp.ocr) * k;
    sh_prepped_release(&pp);

    struct timespec t0, t1, t2;
    sh_readback *rb = NULL;
    CHECK(sh_readback_new(&rb, &err) == SH_OK);
    sh_pdf *p = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(sh_pdf_open(pdf, "real", &p, &err) == SH_OK);
    sh_pdf_page pg = {.w_pt = w, .h_pt = h, .img = &im,
                      .img_matrix = {w, 0, 0, h, 0, 0}, .words = &ws,
                      .pt_per_px = k};
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    CHECK(sh_readback_add_page(rb, &ws, &err) == SH_OK);
    sh_pdf_set_check(p, sh_readback_check, rb);
    int rc = sh_pdf_commit(&p, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECKF(rc == SH_OK, "%s", err.msg);
    int pages = 0;
    double secs = 0;
    sh_readback_stats(rb, &pages, &secs);
    CHECK(pages == 1);
    /* again, the check alone, to time it warm */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(sh_readback_check(pdf, rb, &err) == SH_OK);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    double warm = (t2.tv_sec - t1.tv_sec) * 1e3 +
                  (t2.tv_nsec - t1.tv_nsec) / 1e6;
    struct stat st;
    stat(pdf, &st);
    fprintf(stderr, "  real page: %d words, PDF %lld bytes; read-back %.1f ms "
            "(first, in commit), %.1f ms (again)\n", ws.n,
            (long long)st.st_size, secs * 1e3, warm);
    sh_readback_free(&rb);
    sh_words_release(&ws);
    sh_pdf_image_release(&im);
    return 0;
}

const sh_test sh_tests_pdfa[] = {
    {"pdfa/structure", test_structure},
    {"pdfa/fields", test_fields},
    {"pdfa/meta_usage", test_meta_usage},
    {"pdfa/icc_errors", test_icc_errors},
    {"pdfa/preflight", test_preflight},
    {"pdfa/readback_ok", test_readback_ok},
    {"pdfa/readback_detects", test_readback_detects},
    {"pdfa/readback_many_columns", test_readback_many_columns},
    {"pdfa/readback_squeezed", test_readback_squeezed},
    {"pdfa/readback_bad_tounicode", test_readback_bad_tounicode},
    {"pdfa/check_hook", test_check_hook},
    {"pdfa/readback_real_page", test_readback_real_page},
    {NULL, NULL},
};
