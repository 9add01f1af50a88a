"""Pure logic: plain functions over plain data, no I/O."""
