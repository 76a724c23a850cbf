#ifndef CDIROBS_HIREDIS_SHIM_H
#define CDIROBS_HIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
