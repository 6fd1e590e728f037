using Stepcast.LoadHarness;

var harness = new HarnessArgs(args);
if (harness.Mode is "ingest" or "dispatch" or "baseline" or "scale" or "enroll" or "push" or "campaign-upload")
{
    Console.WriteLine(MachineSpeed.Current);
}

return harness.Mode switch
{
    "push" => await PushBenchmark.RunFromArgsAsync(args),
    "ingest" => await IngestBenchmark.RunAsync(harness),
    "enroll" => await EnrollBenchmark.RunAsync(harness),
    "dispatch" => await DispatchBenchmark.RunAsync(harness),
    "scale" => await ScaleBenchmark.RunAsync(harness),
    "baseline" => await BaselineComparison.RunAsync(harness),
    "campaign-upload" => await CampaignUploadBenchmark.RunAsync(harness),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          push   [--count N] [--concurrency N]
          (postgres topology, any mode: [--friend-store batched|adonet] [--reminder-table batched|adonet], the stores of
           friend state and of reminders; batched by default)
          (any mode that starts Stepcast hosts: [--host-env KEY=VALUE,KEY=VALUE] sets the hosts' environment only,
           e.g. a runtime knob to compare, DOTNET_GCDynamicAdaptationMode=0)
          ingest [--topology embedded|postgres|hangfire] [--rates 1000,2000,…] [--step-seconds S] [--closed-seconds S]
                 [--concurrency K] [--events-per-request N] [--max-seconds S] [--pg "<connection string>"] [--pg-synchronous-commit off] [--json out.json]
          dispatch [--topology embedded|postgres|hangfire] [--count M] [--configs 1,2,3,4] [--lead-seconds S] [--drain-seconds S] [--concurrency K] [--json out.json]
          scale  [--topology embedded|postgres] [--count N] [--lead-seconds S] [--drain-seconds S] [--concurrency K] [--json out.json]
          campaign-upload [--topology embedded|postgres] [--count N] [--following-only true|false] [--json out.json]
          baseline [--count M] [--rates 500,1000,…] [--hangfire-workers N] [--skip ingest|dispatch] [--json out.json]
          enroll [--topology embedded|postgres] [--count N] [--concurrency K] [--max-seconds S] [--pg "<connection string>"] [--pg-synchronous-commit off] [--json out.json]
        """);
    return 2;
}
