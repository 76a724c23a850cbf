#ifndef CDIROBS_SQLITE_SHIM_H
#define CDIROBS_SQLITE_SHIM_H
#include <sqlite3.h>
#endif
