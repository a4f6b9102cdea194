/*
 * pdf_meta.c — the document's metadata: what the caller sets, and the XMP
 * packet and file identifier written at commit.
 *
 *   sh_pdf_set_meta      title, language, creator, description and the
 *                        archival fields, checked and kept
 *   sh__pdf_make_id      (pdf_int.h) the /ID and its uuid: form
 *   sh__pdf_build_xmp    (pdf_int.h) the XMP packet (see pdf.c's top
 *                        comment for what it holds)
 *
 * Method.  Every text is made well-formed UTF-8 and legal XML once, when
 * set (sh__pdf_clean_text), so the Info dictionary and the XMP written
 * from the same copies agree, as PDF/A requires.  Archival fields are
 * hoso:NAME properties described as Text by a pdfaExtension schema in an
 * rdf:Description of their own before the data; the known names of
 * Decree 30/2020/ND-CP carry their meaning.  The XMP packet is plain
 * text, XML-escaped, CR kept as a character reference.
 */
#include "pdf_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Metadata limits (PDF/A strings are at most 32767 bytes; an Info text
   string takes 2 bytes a UTF-16 unit). */
#define META_TEXT_MAX 8000
#define META_VALUE_MAX 65536
#define META_NAME_MAX 64
#define META_FIELDS_MAX 256
#define HOSO_NS "http://sohoa.vn/ns/hoso/1.0/"

/* Append s (clean UTF-8) XML-escaped; CR as a character reference, so
   XML's line-end normalisation does not turn it into LF. */
static void xml_esc(sh_buf *b, int *oom, const char *s)
{
    for (; *s && !*oom; s++) {
        const char *e = NULL;
        switch (*s) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\r': e = "&#xD;"; break;
        default: break;
        }
        int r = e ? sh_buf_adds(b, e) : sh_buf_add(b, s, 1);
        if (r != SH_OK)
            *oom = 1;
    }
}


/* ------------------------------------------------------------------ */
/* metadata                                                           */
/* ------------------------------------------------------------------ */

/* RFC 3066 shape, as ISO 19005-2 6.7.4 checks a Lang entry. */
static int lang_ok(const char *s)
{
    size_t part = 0, nparts = 0;
    if (!s[0] || strlen(s) > 64)
        return 0;
    for (const char *c = s;; c++) {
        if (*c == '-' || !*c) {
            if (part < 1 || part > 8)
                return 0;
            nparts++;
            part = 0;
            if (!*c)
                return 1;
            continue;
        }
        int alpha = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z');
        int digit = *c >= '0' && *c <= '9';
        if (!alpha && !(digit && nparts > 0))
            return 0;
        part++;
    }
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > META_NAME_MAX)
        return 0;
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

int sh_pdf_set_meta(sh_pdf *p, const sh_pdf_meta *m, sh_err *err)
{
    if (!p || !m)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_set_meta: NULL argument");
    if (p->rc) {
        copy_err(err, &p->err);
        return p->rc;
    }
    const char *fp = p->final_path;
    if (m->nfields < 0 || m->nfields > META_FIELDS_MAX ||
        (m->nfields > 0 && !m->fields))
        return sh_errf(err, SH_EUSAGE, "%s: metadata: %d fields (0..%d)", fp,
                       m->nfields, META_FIELDS_MAX);
    const char *lang = m->language ? m->language : "vi";
    if (!lang_ok(lang))
        return sh_errf(err, SH_EUSAGE, "%s: metadata: language \"%.80s\" is "
                       "not a language tag such as vi or vi-VN", fp, lang);
    static const char *const what[] = {"title", "creator", "description"};
    const char *text[] = {m->title, m->creator, m->description};
    for (int i = 0; i < 3; i++)
        if (text[i] && strlen(text[i]) > META_TEXT_MAX)
            return sh_errf(err, SH_EUSAGE, "%s: metadata: %s is over %d "
                           "bytes", fp, what[i], META_TEXT_MAX);
    for (int i = 0; i < m->nfields; i++) {
        const sh_pdf_field *f = &m->fields[i];
        if (!f->name || !name_ok(f->name))
            return sh_errf(err, SH_EUSAGE, "%s: metadata: field %d name "
                           "\"%.80s\" is not ASCII [A-Za-z][A-Za-z0-9]* of at "
                           "most %d bytes", fp, i + 1,
                           f->name ? f->name : "(null)", META_NAME_MAX);
        for (int j = 0; j < i; j++)
            if (!strcmp(m->fields[j].name, f->name))
                return sh_errf(err, SH_EUSAGE, "%s: metadata: field %s given "
                               "twice", fp, f->name);
        if (f->value && strlen(f->value) > META_VALUE_MAX)
            return sh_errf(err, SH_EUSAGE, "%s: metadata: field %s is over %d "
                           "bytes", fp, f->name, META_VALUE_MAX);
    }

    /* Copy everything, then swap it in. */
    int oom = 0, nf = 0;
    char *title = NULL, *creator = NULL, *desc = NULL, *lg = strdup(lang);
    meta_field *fields = m->nfields ? calloc((size_t)m->nfields,
                                             sizeof *fields) : NULL;
    if (!lg || (m->nfields && !fields))
        oom = 1;
    if (!oom && m->title && m->title[0] &&
        !(title = sh__pdf_clean_text(m->title)))
        oom = 1;
    if (!oom && m->creator && m->creator[0] &&
        !(creator = sh__pdf_clean_text(m->creator)))
        oom = 1;
    if (!oom && m->description && m->description[0] &&
        !(desc = sh__pdf_clean_text(m->description)))
        oom = 1;
    for (int i = 0; i < m->nfields && !oom; i++) {
        if (!m->fields[i].value)
            continue;
        fields[nf].name = strdup(m->fields[i].name);
        fields[nf].value = sh__pdf_clean_text(m->fields[i].value);
        nf++;
        if (!fields[nf - 1].name || !fields[nf - 1].value)
            oom = 1;
    }
    if (oom) {
        free(title);
        free(creator);
        free(desc);
        free(lg);
        for (int i = 0; i < nf; i++) {
            free(fields[i].name);
            free(fields[i].value);
        }
        free(fields);
        return sh_errf(err, SH_ENOMEM, "%s: metadata: out of memory", fp);
    }
    if (title) {
        free(p->title);
        p->title = title;
    }
    free(p->lang);
    p->lang = lg;
    free(p->creator);
    p->creator = creator;
    free(p->desc);
    p->desc = desc;
    for (int i = 0; i < p->nfields; i++) {
        free(p->fields[i].name);
        free(p->fields[i].value);
    }
    free(p->fields);
    p->fields = fields;
    p->nfields = nf;
    return SH_OK;
}

/* The file identifier: 16 bytes from a digest of where, when and what,
   with the RFC 4122 version-4 and variant bits set so the same bytes
   serve as /ID (hex) and as xmpMM:DocumentID/InstanceID (uuid:...). */
void sh__pdf_make_id(const sh_pdf *p, char hex[33], char uuid[48])
{
    char seed[4400], h[65];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(seed, sizeof seed, "%s|%lld.%09ld|%d|%d|%llu", p->final_path,
             (long long)ts.tv_sec, ts.tv_nsec, (int)getpid(), p->npages,
             (unsigned long long)p->off);
    sh_sha256_buf(seed, strlen(seed), h);
    static const char xd[] = "0123456789abcdef";
    h[12] = '4';                                        /* version 4 */
    h[16] = xd[8 + (strchr(xd, h[16]) - xd) % 4];       /* variant 10xx */
    memcpy(hex, h, 32);
    hex[32] = 0;
    snprintf(uuid, 48, "uuid:%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
             h + 16, h + 20);
}

/* What each known archival field is (Decree 30/2020/ND-CP, Annex VI). */
static const struct {
    const char *name, *desc;
} hoso_known[] = {
    {"FileCode", "Mã hồ sơ (dossier code)"},
    {"OrganId", "Mã định danh của cơ quan, tổ chức (agency identifier)"},
    {"FileCatalog", "Mục lục số hoặc năm hình thành hồ sơ (catalogue "
                    "number or year)"},
    {"FileNotation", "Số và ký hiệu hồ sơ (dossier number and notation)"},
    {"Title", "Tiêu đề hồ sơ (dossier title)"},
    {"Maintenance", "Thời hạn bảo quản (retention period)"},
    {"Rights", "Chế độ sử dụng (access regime)"},
    {"Language", "Ngôn ngữ (language)"},
    {"StartDate", "Thời gian bắt đầu (start date)"},
    {"EndDate", "Thời gian kết thúc (end date)"},
    {"DocTotal", "Tổng số văn bản trong hồ sơ (number of documents)"},
    {"PageTotal", "Tổng số trang của hồ sơ (number of pages)"},
    {"SheetTotal", "Tổng số tờ của hồ sơ (number of sheets)"},
    {"Description", "Ghi chú (notes)"},
    {"InforSign", "Ký hiệu thông tin (information sign)"},
    {"Keyword", "Từ khóa (keywords)"},
    {"Format", "Tình trạng vật lý (physical state)"},
    {"Agency", "Cơ quan giao nộp hồ sơ (agency code)"},
};

/* The pdfaExtension description of the hoso fields: a description of
   its own, before the one that uses them (readers such as xmpbox learn
   extension schemas from descriptions whose first child is one). */
static void xmp_extension(const sh_pdf *p, sh_buf *x, int *oom)
{
    bpf(x, oom,
        "  <rdf:Description rdf:about=\"\"\n"
        "    xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\"\n"
        "    xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\"\n"
        "    xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">\n"
        "   <pdfaExtension:schemas>\n    <rdf:Bag>\n"
        "     <rdf:li rdf:parseType=\"Resource\">\n"
        "      <pdfaSchema:schema>sohoa dossier metadata (Decree "
        "30/2020/ND-CP, Annex VI)</pdfaSchema:schema>\n"
        "      <pdfaSchema:namespaceURI>" HOSO_NS "</pdfaSchema:namespaceURI>\n"
        "      <pdfaSchema:prefix>hoso</pdfaSchema:prefix>\n"
        "      <pdfaSchema:property>\n       <rdf:Seq>\n");
    for (int i = 0; i < p->nfields; i++) {
        const char *d = NULL;
        for (size_t k = 0; k < SH_ARRAY_LEN(hoso_known) && !d; k++)
            if (!strcmp(hoso_known[k].name, p->fields[i].name))
                d = hoso_known[k].desc;
        bpf(x, oom,
            "        <rdf:li rdf:parseType=\"Resource\">\n"
            "         <pdfaProperty:name>%s</pdfaProperty:name>\n"
            "         <pdfaProperty:valueType>Text</pdfaProperty:valueType>\n"
            "         <pdfaProperty:category>external</pdfaProperty:category>\n"
            "         <pdfaProperty:description>", p->fields[i].name);
        if (d)
            bpf(x, oom, "%s", d);
        else
            bpf(x, oom, "Dossier field %s", p->fields[i].name);
        bpf(x, oom, "</pdfaProperty:description>\n        </rdf:li>\n");
    }
    bpf(x, oom, "       </rdf:Seq>\n      </pdfaSchema:property>\n"
        "     </rdf:li>\n    </rdf:Bag>\n   </pdfaExtension:schemas>\n"
        "  </rdf:Description>\n");
}

/* The XMP packet (see the top comment). */
int sh__pdf_build_xmp(const sh_pdf *p, const doc_time *dt, const char *uuid,
                      sh_buf *x)
{
    int oom = 0;
    bpf(x, &oom,
        "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
        " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n");
    if (p->nfields)
        xmp_extension(p, x, &oom);
    bpf(x, &oom,
        "  <rdf:Description rdf:about=\"\"\n"
        "    xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\"\n"
        "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
        "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
        "    xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n"
        "    xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\"%s>\n"
        "   <pdfaid:part>2</pdfaid:part>\n"
        "   <pdfaid:conformance>B</pdfaid:conformance>\n"
        "   <dc:format>application/pdf</dc:format>\n",
        p->nfields ? "\n    xmlns:hoso=\"" HOSO_NS "\"" : "");
    if (p->title) {
        bpf(x, &oom, "   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">");
        xml_esc(x, &oom, p->title);
        bpf(x, &oom, "</rdf:li></rdf:Alt></dc:title>\n");
    }
    if (p->creator) {
        bpf(x, &oom, "   <dc:creator><rdf:Seq><rdf:li>");
        xml_esc(x, &oom, p->creator);
        bpf(x, &oom, "</rdf:li></rdf:Seq></dc:creator>\n");
    }
    if (p->desc) {
        bpf(x, &oom, "   <dc:description><rdf:Alt><rdf:li "
            "xml:lang=\"x-default\">");
        xml_esc(x, &oom, p->desc);
        bpf(x, &oom, "</rdf:li></rdf:Alt></dc:description>\n");
    }
    bpf(x, &oom, "   <dc:language><rdf:Bag><rdf:li>%s</rdf:li></rdf:Bag>"
        "</dc:language>\n"
        "   <xmp:CreateDate>%s</xmp:CreateDate>\n"
        "   <xmp:ModifyDate>%s</xmp:ModifyDate>\n"
        "   <xmp:MetadataDate>%s</xmp:MetadataDate>\n"
        "   <xmp:CreatorTool>sohoa</xmp:CreatorTool>\n"
        "   <pdf:Producer>sohoa</pdf:Producer>\n"
        "   <xmpMM:DocumentID>%s</xmpMM:DocumentID>\n"
        "   <xmpMM:InstanceID>%s</xmpMM:InstanceID>\n",
        p->lang, dt->xmp, dt->xmp, dt->xmp, uuid, uuid);
    for (int i = 0; i < p->nfields; i++) {
        bpf(x, &oom, "   <hoso:%s>", p->fields[i].name);
        xml_esc(x, &oom, p->fields[i].value);
        bpf(x, &oom, "</hoso:%s>\n", p->fields[i].name);
    }
    bpf(x, &oom, "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n"
        "<?xpacket end=\"w\"?>");
    return oom ? SH_ENOMEM : SH_OK;
}
