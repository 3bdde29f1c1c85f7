#include "agent/db_operation.h"

#include <string.h>

/* The statements a first keyword may name; anything else is no operation (the bytes
 * are a traced process's: a label never carries what the process put there). */
static const char *const keywords[] = {
	"SELECT", "INSERT",   "UPDATE",  "DELETE",   "REPLACE",  "UPSERT", "MERGE",
	"WITH",   "CREATE",   "DROP",    "ALTER",    "TRUNCATE", "BEGIN",  "START",
	"COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA",  "EXPLAIN", "SET",
	"SHOW",   "DESCRIBE", "CALL",    "EXEC",     "EXECUTE",  "VALUES", "GRANT",
	"REVOKE", "ANALYZE",  "VACUUM",  "LOCK",     "COPY",     "USE",    "ATTACH",
	"DETACH", "REINDEX",  "LISTEN",  "NOTIFY",   "PREPARE",  "DEALLOCATE",
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_ident(char c)
{
	return is_letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

struct cursor {
	const char *p;
	size_t len, at;
	int whole; /* the bytes are the whole query: a word may end with them */
};

static void skip_blanks(struct cursor *c)
{
	while (c->at < c->len && is_blank(c->p[c->at]))
		c->at++;
}

/* The next word of letters, upper-cased into out[0..size); 0 when none, or longer
 * than out, or cut by the end of the bytes (it may go on past them). */
static size_t next_word(struct cursor *c, char *out, size_t size)
{
	size_t n = 0;

	skip_blanks(c);
	while (c->at < c->len && is_letter(c->p[c->at])) {
		if (n + 1 >= size)
			return 0;
		out[n++] = upper(c->p[c->at++]);
	}
	out[n] = '\0';
	if (c->at >= c->len && !c->whole)
		return 0;
	return n;
}

/* A plain identifier (letters, digits, '_', '.'; not starting with a digit) that ends
 * before the bytes do; "" otherwise. */
static void next_identifier(struct cursor *c, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	skip_blanks(c);
	if (c->at >= c->len || !(is_letter(c->p[c->at]) || c->p[c->at] == '_'))
		return;
	while (c->at < c->len && is_ident(c->p[c->at])) {
		if (n + 1 >= size) {
			out[0] = '\0';
			return;
		}
		out[n++] = c->p[c->at++];
	}
	if (c->at >= c->len && !c->whole) /* it may go on */
		n = 0;
	out[n] = '\0';
}

static int word_is(const char *w, const char *k)
{
	return strcmp(w, k) == 0;
}

void db_operation_parse(const char *query, size_t len, int whole, struct db_operation *ret)
{
	struct cursor c = { query, query ? len : 0, 0, whole };
	char word[DB_OPERATION_NAME_MAX];
	int known = 0;

	memset(ret, 0, sizeof(*ret));
	if (!next_word(&c, ret->name, sizeof(ret->name)))
		goto none;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		known |= word_is(ret->name, keywords[i]);
	if (!known)
		goto none;
	if (word_is(ret->name, "UPDATE")) {
		next_identifier(&c, ret->target, sizeof(ret->target));
	} else if (word_is(ret->name, "INSERT") || word_is(ret->name, "DELETE")) {
		if (next_word(&c, word, sizeof(word)) &&
		    word_is(word, word_is(ret->name, "INSERT") ? "INTO" : "FROM"))
			next_identifier(&c, ret->target, sizeof(ret->target));
	}
	return;
none:
	memset(ret, 0, sizeof(*ret));
}
