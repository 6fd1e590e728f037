using Stepcast.LoadHarness;

var harness = new HarnessArgs(args);
Func<Task<int>>? mode = harness.Mode switch
{
    "push" => () => PushBenchmark.RunFromArgsAsync(args),
    "ingest" => () => IngestBenchmark.RunAsync(harness),
    "enroll" => () => EnrollBenchmark.RunAsync(harness),
    "dispatch" => () => DispatchBenchmark.RunAsync(harness),
    "scale" => () => ScaleBenchmark.RunAsync(harness),
    "baseline" => () => BaselineComparison.RunAsync(harness),
    "campaign-upload" => () => CampaignUploadBenchmark.RunAsync(harness),
    _ => null,
};
if (mode is null)
{
    return Usage();
}

StepcastProcess.ReadyToRun = harness.Flag("--ready-to-run");

// Read before any host starts, so the reading is of the machine alone.
Console.WriteLine(MachineSpeed.Current);
return await mode();

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          push   [--count N] [--concurrency N]
          (postgres topology, any mode: [--friend-store batched|adonet] [--reminder-table batched|adonet], the stores of
           friend state and of reminders; batched by default; [--pg-conf name=value,name=value] more settings for the
           throwaway PostgreSQL, e.g. shared_preload_libraries=pg_stat_statements)
          (any mode that starts Stepcast hosts: [--host-env KEY=VALUE,KEY=VALUE] sets the hosts' environment only,
           e.g. a runtime knob to compare, DOTNET_GCDynamicAdaptationMode=0; [--ready-to-run] starts the hosts from a
           ReadyToRun publish, as the images ship them, published first into src/*/bin/Release/net10.0/linux-x64/publish)
          ingest [--topology embedded|postgres|hangfire|floor [--floor-depth http|activate|write]] [--rates 1000,2000,…] [--step-seconds S] [--closed-seconds S] [--warm-up-seconds S, 20]
                 [--ingest-scenario welcome|wait|none]
                 [--concurrency K] [--events-per-request N] [--max-seconds S] [--pg "<connection string>"] [--pg-synchronous-commit off] [--json out.json]
          dispatch [--topology embedded|postgres|hangfire|floor] [--count M] [--configs 1,2,3,4] [--bursts N, 1] [--lead-seconds S] [--drain-seconds S] [--concurrency K] [--json out.json]
          scale  [--topology embedded|postgres] [--count N] [--lead-seconds S] [--drain-seconds S] [--concurrency K] [--json out.json]
          campaign-upload [--topology embedded|postgres] [--count N] [--following-only true|false] [--json out.json]
          baseline [--count M] [--rates 500,1000,…] [--hangfire-workers N] [--skip ingest|dispatch] [--json out.json]
          enroll [--topology embedded|postgres] [--count N] [--concurrency K] [--max-seconds S] [--pg "<connection string>"] [--pg-synchronous-commit off] [--json out.json]
        """);
    return 2;
}
