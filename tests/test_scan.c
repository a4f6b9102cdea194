#include "test.h"

const sh_test sh_tests_scan[] = {
    {NULL, NULL},
};
