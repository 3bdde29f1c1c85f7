/* libevent and OpenSSL write to sockets with write(2): a peer that closes while we
 * write would raise SIGPIPE and, by default, end the process. Everything that opens
 * such sockets (the HTTP servers, the API server client) calls this first. */
#ifndef AUTOTRACE_LOOP_SIGPIPE_H
#define AUTOTRACE_LOOP_SIGPIPE_H

/* Ignores SIGPIPE unless the program chose a disposition of its own. */
void sigpipe_ignore_default(void);

#endif
