// Process-wide SQLite settings that must be made before SQLite is initialised, so at
// program load. sqlite3_config is variadic, which Swift cannot call.
#include <sqlite3.h>
#include "CSQLiteSettings.h"

static int memstatus_result = -1;

// With memory statistics on (Debian's default), every allocation and free SQLite makes
// takes one process-wide mutex to count it: every connection (the writer, the warm
// snapshots, the checkpointer) serialises on it. Nothing here reads those statistics
// (sqlite3_memory_used, the soft heap limit).
__attribute__((constructor)) static void msb_sqlite_settings(void) {
    memstatus_result = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int msb_sqlite_memstatus_result(void) { return memstatus_result; }
