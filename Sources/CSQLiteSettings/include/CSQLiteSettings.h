#ifndef MSB_SQLITE_SETTINGS_H
#define MSB_SQLITE_SETTINGS_H

/// What SQLite returned when memory statistics were switched off at program load
/// (SQLITE_OK, 0, unless something initialised SQLite before this library's constructor ran).
int msb_sqlite_memstatus_result(void);

#endif
