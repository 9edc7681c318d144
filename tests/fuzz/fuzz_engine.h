/* fuzz_engine.h - see engine.c. */
#ifndef JR_FUZZ_ENGINE_H
#define JR_FUZZ_ENGINE_H

struct jr_engine;

/* The process's engine, opened on the first call; never closed. */
struct jr_engine *fuzz_engine(void);

#endif
