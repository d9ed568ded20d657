"""Operations: the only code that changes state. Each runs in the caller's transaction and flushes;
the caller (request handler, CLI command, job) commits once, then runs side effects."""
