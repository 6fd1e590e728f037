using Stepcast.LoadHarness;

var harness = new HarnessArgs(args);
return harness.Mode switch
{
    "push" => await PushBenchmark.RunFromArgsAsync(args),
    "ingest" => await IngestBenchmark.RunAsync(harness),
    "enroll" => await EnrollBenchmark.RunAsync(harness),
    "campaign-upload" => await CampaignUploadBenchmark.RunAsync(harness),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          push   [--count N] [--concurrency N]
          ingest [--topology embedded|postgres] [--rates 1000,2000,…] [--step-seconds S] [--closed-seconds S]
                 [--concurrency K] [--events-per-request N] [--max-seconds S] [--pg "<connection string>"] [--pg-synchronous-commit off] [--json out.json]
          enroll [--topology embedded|postgres] [--count N] [--concurrency K] [--max-seconds S] [--pg "<connection string>"] [--pg-synchronous-commit off] [--json out.json]
        """);
    return 2;
}
