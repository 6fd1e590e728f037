using BenchmarkDotNet.Running;

// Every benchmark class in this assembly; pick with --filter, shorten with --job short (see benchmarks/README.md).
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
