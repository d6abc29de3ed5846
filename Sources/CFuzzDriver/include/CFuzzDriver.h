#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H
/// Runs libFuzzer's driver on LLVMFuzzerTestOneInput (built with MSB_FUZZING, by `make fuzz`);
/// returns 2 in a normal build. SwiftPM names an executable's entry point itself, so the
/// fuzz target keeps its own `main` and hands over to libFuzzer here.
int msb_fuzz_driver(int argc, char **argv);
#endif
