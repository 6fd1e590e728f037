using System.Globalization;

namespace Stepcast.LoadHarness;

/// <summary>
/// The hosts of a run, as separate processes from the Release build: <c>embedded</c> is one Api process with the
/// silo inside (in-memory storage and reminders); <c>postgres</c> is the cluster topology on PostgreSQL — one silo
/// process and, when HTTP is needed, the Api process as its Orleans client — because the embedded host has no
/// PostgreSQL option. Deliveries go to the fake LINE server (the channel has an access token).
/// </summary>
public sealed class BenchTopology : IAsyncDisposable
{
    public const string ChannelId = "bench";
    public const string ChannelSecret = "bench-channel-secret";

    private readonly List<IAsyncDisposable> _owned = [];
    private string? _scenarioFolder;

    public required string Name { get; init; }

    /// <summary>The process that hosts the grains (the Api when embedded, the silo on PostgreSQL).</summary>
    public StepcastProcess Silo { get; private set; } = null!;

    public string? ApiBaseUrl { get; private set; }

    public ThrowawayPostgres? Postgres { get; private set; }

    /// <summary>Where the grain host serves <c>/metrics</c> (the Api's URL when embedded, the silo's operations port on PostgreSQL).</summary>
    public string? SiloMetricsBaseUrl { get; private set; }

    /// <summary>The Stepcast processes of the run (the PostgreSQL server's own CPU is not included).</summary>
    public IReadOnlyList<StepcastProcess> Processes => _owned.OfType<StepcastProcess>().ToList();

    public TimeSpan CpuTime() => Processes.Aggregate(TimeSpan.Zero, (sum, process) => sum + process.CpuTime());

    /// <summary>Where an Orleans client finds the silo: the gateway port (embedded) or the membership table (postgres).</summary>
    public int? EmbeddedGatewayPort { get; private set; }

    public static Task<BenchTopology> StartAsync(
        string topology, string scenarioJson, string lineBaseUrl, bool withApi, HarnessArgs args, CancellationToken cancellationToken) =>
        StartAsync(topology, [scenarioJson], new Dictionary<string, string>(), lineBaseUrl, withApi, args, cancellationToken);

    /// <param name="settings">Extra host configuration as environment variables (<c>Stepcast__RateLimits__Enabled</c>, …).</param>
    public static async Task<BenchTopology> StartAsync(
        string topology, IReadOnlyList<string> scenarioJsons, IReadOnlyDictionary<string, string> settings, string lineBaseUrl, bool withApi,
        HarnessArgs args, CancellationToken cancellationToken)
    {
        var run = new BenchTopology { Name = topology };
        try
        {
            var scenarios = Path.Combine(Path.GetTempPath(), "stepcast-load-scenarios-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(scenarios);
            run._scenarioFolder = scenarios;
            for (var i = 0; i < scenarioJsons.Count; i++)
            {
                await File.WriteAllTextAsync(Path.Combine(scenarios, $"bench-{i}.json"), scenarioJsons[i], cancellationToken);
            }

            var common = new Dictionary<string, string>
            {
                ["Stepcast__Channels__0__ChannelId"] = ChannelId,
                ["Stepcast__Channels__0__ChannelSecret"] = ChannelSecret,
                ["Stepcast__Channels__0__AccessToken"] = "bench-access-token",
                ["Stepcast__Sandbox__ScenarioFolder"] = scenarios,
                // No sandbox: its wait compression would make a 7-day wait last 7 seconds.
                ["Stepcast__Sandbox__Enabled"] = "false",
                ["Line__ApiBaseUrl"] = lineBaseUrl,
                ["Line__DataApiBaseUrl"] = lineBaseUrl,
            };
            foreach (var (key, value) in settings)
            {
                common[key] = value;
            }

            // Runtime knobs for the hosts alone (not the harness), for A/B runs: --host-env DOTNET_GCgen0size=0x4000000,K=V
            foreach (var pair in (args.String("--host-env") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var at = pair.IndexOf('=');
                if (at <= 0)
                {
                    throw new ArgumentException($"--host-env takes KEY=VALUE pairs separated by commas, not '{pair}'.");
                }

                common[pair[..at]] = pair[(at + 1)..];
            }

            switch (topology)
            {
                case "embedded":
                {
                    // Ports of its own rather than Orleans' localhost defaults (11111, 30000), which other silos on the
                    // machine may hold: consecutive runs and other people's tests then cannot meet.
                    var port = Ports.FreeLoopbackPort();
                    var gatewayPort = Ports.FreeLoopbackPort();
                    var api = StepcastProcess.Start("api (embedded)", "Api", new Dictionary<string, string>(common)
                    {
                        ["Urls"] = $"http://127.0.0.1:{port}",
                        ["Stepcast__Cluster__SiloPort"] = Ports.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture),
                        ["Stepcast__Cluster__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
                    });
                    run._owned.Add(api);
                    await api.WaitForOutputAsync("Published sample scenario", TimeSpan.FromSeconds(90), cancellationToken);
                    await api.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(30), cancellationToken);
                    run.Silo = api;
                    run.ApiBaseUrl = $"http://127.0.0.1:{port}";
                    run.SiloMetricsBaseUrl = run.ApiBaseUrl;
                    // A client talks to whichever silo holds the gateway port: make sure it is ours.
                    await RequireListenerAsync(gatewayPort, api.Id, cancellationToken);
                    run.EmbeddedGatewayPort = gatewayPort;
                    break;
                }

                case "postgres":
                {
                    run.Postgres = await ThrowawayPostgres.StartAsync(args.String("--pg"), args.String("--pg-synchronous-commit") != "off", args.String("--pg-conf"), cancellationToken);
                    run._owned.Add(run.Postgres);
                    var cluster = new Dictionary<string, string>(common)
                    {
                        ["Stepcast__Topology"] = "Cluster",
                        ["ConnectionStrings__Stepcast"] = run.Postgres.ConnectionString,
                        ["Stepcast__Cluster__ClusterId"] = "stepcast-load",
                        ["Stepcast__Cluster__ServiceId"] = "stepcast-load",
                        // --friend-store adonet runs the friends on Orleans' ADO.NET provider, to compare with the batched store.
                        ["Stepcast__Postgres__FriendStateStore"] = args.String("--friend-store") ?? "Batched",
                        // --reminder-table adonet keeps Orleans' ADO.NET reminder provider, likewise.
                        ["Stepcast__Postgres__ReminderTable"] = args.String("--reminder-table") ?? "Batched",
                    };
                    var operationsPort = Ports.FreeLoopbackPort();
                    var silo = StepcastProcess.Start("silo", "Silo", new Dictionary<string, string>(cluster)
                    {
                        ["Urls"] = $"http://127.0.0.1:{operationsPort}",
                        ["Stepcast__Cluster__SiloPort"] = Ports.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture),
                        ["Stepcast__Cluster__GatewayPort"] = Ports.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture),
                        ["Stepcast__Cluster__SiloName"] = "load-silo",
                    });
                    run._owned.Add(silo);
                    await silo.WaitForOutputAsync("Published sample scenario", TimeSpan.FromSeconds(90), cancellationToken);
                    run.Silo = silo;
                    run.SiloMetricsBaseUrl = $"http://127.0.0.1:{operationsPort}";
                    if (withApi)
                    {
                        var port = Ports.FreeLoopbackPort();
                        var api = StepcastProcess.Start("api (cluster client)", "Api", new Dictionary<string, string>(cluster) { ["Urls"] = $"http://127.0.0.1:{port}" });
                        run._owned.Add(api);
                        await api.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90), cancellationToken);
                        run.ApiBaseUrl = $"http://127.0.0.1:{port}";
                    }

                    break;
                }

                case "hangfire":
                {
                    // The baseline: the restaurant scenario as Hangfire jobs on its own throwaway PostgreSQL.
                    run.Postgres = await ThrowawayPostgres.StartAsync(args.String("--pg"), args.String("--pg-synchronous-commit") != "off", args.String("--pg-conf"), cancellationToken);
                    run._owned.Add(run.Postgres);
                    var port = Ports.FreeLoopbackPort();
                    var baseline = StepcastProcess.StartDll("hangfire baseline", StepcastProcess.BaselineBuildOutput(), new Dictionary<string, string>
                    {
                        ["Urls"] = $"http://127.0.0.1:{port}",
                        ["ConnectionStrings__Hangfire"] = run.Postgres.ConnectionString,
                        ["Baseline__ChannelSecret"] = ChannelSecret,
                        ["Baseline__AccessToken"] = "bench-access-token",
                        ["Baseline__LineApiBaseUrl"] = lineBaseUrl,
                        ["Baseline__Workers"] = args.String("--hangfire-workers") ?? "50",
                    });
                    run._owned.Add(baseline);
                    await baseline.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90), cancellationToken);
                    run.Silo = baseline;
                    run.ApiBaseUrl = $"http://127.0.0.1:{port}";
                    break;
                }

                case "floor":
                {
                    // Not Stepcast: the framework's floor under its ingest (benchmarks/Stepcast.FloorHost), one process
                    // like the embedded topology; --floor-depth http|activate|write says how far a follow goes.
                    var port = Ports.FreeLoopbackPort();
                    var floor = StepcastProcess.StartDll("floor host", StepcastProcess.BenchmarkBuildOutput("Stepcast.FloorHost"), new Dictionary<string, string>(common)
                    {
                        ["Urls"] = $"http://127.0.0.1:{port}",
                        ["Floor__Depth"] = args.String("--floor-depth") ?? "write",
                        ["Floor__ChannelSecret"] = ChannelSecret,
                        ["Floor__SiloPort"] = Ports.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture),
                        ["Floor__GatewayPort"] = Ports.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture),
                    });
                    run._owned.Add(floor);
                    await floor.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(90), cancellationToken);
                    run.Silo = floor;
                    run.ApiBaseUrl = $"http://127.0.0.1:{port}";
                    break;
                }

                default:
                    throw new ArgumentException($"Unknown topology '{topology}': embedded, postgres, hangfire or floor.");
            }

            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The grain host's managed heap after its last garbage collection (the runtime's
    /// <c>dotnet.gc.last_collection.heap.size</c>, summed over generations): what is really held, where RSS also
    /// counts memory the GC keeps committed for later. Null when the host serves no metrics.
    /// </summary>
    public async Task<long?> ManagedHeapAfterLastGcAsync(CancellationToken cancellationToken) =>
        await ScrapeAsync(cancellationToken) is { } metrics ? (long?)Sum(metrics, "dotnet_gc_last_collection_heap_size_bytes{") : null;

    /// <summary>
    /// What the grain host's garbage collector has done since it started, from the runtime's own counters
    /// (<c>dotnet.gc.heap.total_allocated</c>, <c>dotnet.gc.pause.time</c>, <c>dotnet.gc.collections</c>); the
    /// difference of two readings is a phase's allocation and pauses. Null when the host serves no metrics.
    /// </summary>
    public async Task<GcReading?> GcReadingAsync(CancellationToken cancellationToken) =>
        await ScrapeAsync(cancellationToken) is { } metrics
            ? new GcReading(
                (long)Sum(metrics, "dotnet_gc_heap_total_allocated_bytes_total{"),
                Sum(metrics, "dotnet_gc_pause_time_seconds_total{"),
                (long)Sum(metrics, "dotnet_gc_collections_total{", "gc_heap_generation=\"gen2\""))
            : null;

    private async Task<string[]?> ScrapeAsync(CancellationToken cancellationToken)
    {
        if (SiloMetricsBaseUrl is null)
        {
            return null;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            return (await http.GetStringAsync($"{SiloMetricsBaseUrl}/metrics", cancellationToken)).Split('\n');
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // A host too busy to answer within 10 s: the reading is missing from the results, the run goes on.
            Console.WriteLine($"  (no reading of the host's metrics: {exception.Message})");
            return null;
        }
    }

    /// <summary>The sum of a Prometheus metric's samples whose line starts with <paramref name="prefix"/> (and has <paramref name="label"/>).</summary>
    private static double Sum(string[] metrics, string prefix, string? label = null)
    {
        var total = 0.0;
        foreach (var line in metrics)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal) && (label is null || line.Contains(label, StringComparison.Ordinal))
                && double.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                total += value;
            }
        }

        return total;
    }

    private static async Task RequireListenerAsync(int port, int processId, CancellationToken cancellationToken)
    {
        var start = new System.Diagnostics.ProcessStartInfo("ss") { RedirectStandardOutput = true };
        foreach (var argument in (string[])["-ltnpH", $"sport = :{port}"])
        {
            start.ArgumentList.Add(argument);
        }

        using var ss = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("Could not run ss.");
        var listeners = await ss.StandardOutput.ReadToEndAsync(cancellationToken);
        await ss.WaitForExitAsync(cancellationToken);
        var lines = listeners.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0 || !lines.All(line => line.Contains($"pid={processId},", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException(
                $"Port {port} is not held by the Api process {processId} but by: {listeners.Trim()}. Another process took it; run again.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Hosts first, then the database they write to.
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        if (_scenarioFolder is not null && Directory.Exists(_scenarioFolder))
        {
            Directory.Delete(_scenarioFolder, recursive: true);
        }
    }
}

/// <summary>A grain host's garbage-collector counters at one moment; subtract two for a phase.</summary>
public sealed record GcReading(long AllocatedBytes, double PauseSeconds, long Gen2Collections)
{
    public static GcReading operator -(GcReading after, GcReading before) =>
        new(after.AllocatedBytes - before.AllocatedBytes, after.PauseSeconds - before.PauseSeconds, after.Gen2Collections - before.Gen2Collections);
}
