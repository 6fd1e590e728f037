// Placeholder so the solution compiles before the API host is written; the host work replaces this file.
return 0;
