// zxing_read.cc — read separator codes with ZXing-C++ (Debian libzxing-dev
// 1.4), for the measurement in tests/bench/sepcodes/measure.sh only: sohoa
// itself reads with zbar (scanners/barcode.c).  One line per image:
//   FILE<TAB>qr=0|1<TAB>c128=0|1<TAB>ms
// SEP_REDUCE=1 in the environment reads a ~100 dpi copy instead.
// qr/c128: a symbol of that kind whose payload starts "SOHOA-SEP:" was read.
#define ZX_USE_UTF8 1
#include <ZXing/ReadBarcode.h>
#include <leptonica/allheaders.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char **argv)
{
    setMsgSeverity(L_SEVERITY_NONE);
    for (int i = 1; i < argc; i++) {
        PIX *p = pixRead(argv[i]);
        if (!p) { std::printf("%s\tunreadable\n", argv[i]); continue; }
        PIX *g = pixConvertTo8(p, 0);
        // SEP_REDUCE=1: read the ~100 dpi area-map copy sohoa's test reads
        int dpi = pixGetXRes(p) > 0 ? pixGetXRes(p) : 300;
        if (getenv("SEP_REDUCE") && dpi > 115) {
            PIX *r = pixScaleAreaMap(g, 100.0f / dpi, 100.0f / dpi);
            pixDestroy(&g);
            g = r;
        }
        int w = pixGetWidth(g), h = pixGetHeight(g), wpl = pixGetWpl(g);
        std::vector<unsigned char> buf((size_t)w * h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                buf[(size_t)y * w + x] = GET_DATA_BYTE(pixGetData(g) + (size_t)y * wpl, x);
        auto t0 = std::chrono::steady_clock::now();
        ZXing::ImageView view(buf.data(), w, h, ZXing::ImageFormat::Lum);
        // One format at a time with ReadBarcode (one result): Debian's
        // 1.4 build aborts on an assertion (Result::operator==,
        // lineCount() == 1) when ReadBarcodes merges results of both.
        int qr = 0, c128 = 0;
        for (auto f : {ZXing::BarcodeFormat::QRCode, ZXing::BarcodeFormat::Code128}) {
            ZXing::DecodeHints hints;
            hints.setFormats(f);
            hints.setTryHarder(true);
            hints.setTryRotate(true);
            auto r = ZXing::ReadBarcode(view, hints);
            if (r.isValid() && r.text().rfind("SOHOA-SEP:", 0) == 0)
                *(f == ZXing::BarcodeFormat::QRCode ? &qr : &c128) = 1;
        }
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%s\tqr=%d\tc128=%d\t%.0f\n", argv[i], qr, c128, ms);
        pixDestroy(&g);
        pixDestroy(&p);
    }
    return 0;
}
