/*
 * vnlm_blob.c — the Vietnamese syllable model (ocr/data/vnlm.bin, made by
 * ocr/data/mkvnlm.py) built into the program, so no file is looked for at
 * run time.  sh_vnlm_blob .. sh_vnlm_blob_end are its bytes, 16-aligned;
 * ocr/vncorrect.c reads them in place (sh_vnlm_load).  The path is
 * relative to the top folder, where make runs the compiler.
 */
__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl sh_vnlm_blob\n"
        ".globl sh_vnlm_blob_end\n"
        "sh_vnlm_blob:\n"
        ".incbin \"ocr/data/vnlm.bin\"\n"
        "sh_vnlm_blob_end:\n"
        ".byte 0\n"
        ".previous\n");
