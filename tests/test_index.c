#include "test.h"

const sh_test sh_tests_index[] = {
    {NULL, NULL},
};
