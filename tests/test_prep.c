#include "test.h"

const sh_test sh_tests_prep[] = {
    {NULL, NULL},
};
