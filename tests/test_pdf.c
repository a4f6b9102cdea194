#include "test.h"

const sh_test sh_tests_pdf[] = {
    {NULL, NULL},
};
