#include "CFuzzDriver.h"
#ifdef MSB_FUZZING
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int msb_fuzz_driver(int argc, char **argv) { return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput); }
#else
int msb_fuzz_driver(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return 2;
}
#endif
