#ifndef MSB_CQRENCODE_SHIM_H
#define MSB_CQRENCODE_SHIM_H
#include <qrencode.h>
#include <png.h>
#endif
