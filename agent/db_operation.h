/* What the start of an SQL query says, parsed from bytes copied out of a traced
 * process (bounded, untrusted, maybe cut anywhere): its operation (db.operation.name,
 * the first keyword) and, for INSERT INTO, UPDATE and DELETE FROM, the table it names
 * (db.collection.name), where that is cheap to know. Leading blanks are skipped, not
 * comments (the kernel cuts the RED series' keys the same way). */
#ifndef AUTOTRACE_AGENT_DB_OPERATION_H
#define AUTOTRACE_AGENT_DB_OPERATION_H

#include <stddef.h>

#define DB_OPERATION_NAME_MAX 16  /* bytes of an operation name, with its NUL */
#define DB_OPERATION_TARGET_MAX 65 /* bytes of a table name, with its NUL */

struct db_operation {
	char name[DB_OPERATION_NAME_MAX];     /* "SELECT", ...; "" when not a known keyword */
	char target[DB_OPERATION_TARGET_MAX]; /* "" when not known */
};

/* Parses query[0..len); whole: those are all of its bytes (else a word that reaches
 * their end is not known to end there). Never fails: what it cannot tell is left
 * empty. */
void db_operation_parse(const char *query, size_t len, int whole, struct db_operation *ret);

#endif
