#ifndef CDIROBS_FILE_SYSTEM_SHIM_H
#define CDIROBS_FILE_SYSTEM_SHIM_H
// statfs(2), which Swift's Glibc module leaves out: the forwarder asks which filesystem a directory is on.
#include <sys/vfs.h>
#endif
