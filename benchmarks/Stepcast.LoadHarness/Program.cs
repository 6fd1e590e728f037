using Stepcast.LoadHarness;

return await PushBenchmark.RunFromArgsAsync(args);
