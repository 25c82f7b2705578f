#ifndef ALTS_BANNED_H
#define ALTS_BANNED_H

/*
 * Functions that are too easy to misuse: unbounded copies, hidden global
 * state, silent conversion failures. Use sbuf, snprintf, strtol instead.
 */
#define BANNED(func) sorry_##func##_is_banned_in_alts

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gets
#define gets(x) BANNED(gets)

#endif
