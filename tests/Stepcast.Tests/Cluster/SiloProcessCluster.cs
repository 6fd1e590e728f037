using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using Stepcast.Silo.Postgres;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Cluster;

/// <summary>
/// A real cluster of silo processes (the shipped Stepcast.Silo host) on one fresh PostgreSQL database, with an
/// Orleans client in the test process. Silos can be killed hard or stopped with SIGTERM and started again.
/// </summary>
public sealed class SiloProcessCluster : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly string _clusterId = $"test-{Guid.NewGuid():N}"[..16];

    public string ClusterId => _clusterId;
    private readonly IReadOnlyDictionary<string, string> _extraEnvironment;
    private readonly List<SiloProcess> _silos = [];
    private IHost? _clientHost;

    private SiloProcessCluster(string connectionString, IReadOnlyDictionary<string, string> extraEnvironment)
    {
        _connectionString = connectionString;
        _extraEnvironment = extraEnvironment;
    }

    public IReadOnlyList<SiloProcess> Silos => _silos;
    public IClusterClient Client => _clientHost!.Services.GetRequiredService<IClusterClient>();
    public string ConnectionString => _connectionString;

    public static async Task<SiloProcessCluster> StartAsync(PostgresServer postgres, int silos, IReadOnlyDictionary<string, string>? environment = null)
    {
        var connectionString = await postgres.CreateDatabaseAsync($"cluster_{Guid.NewGuid():N}");
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            await PostgresSchema.ApplyAsync(dataSource, CancellationToken.None);
        }

        var cluster = new SiloProcessCluster(connectionString, environment ?? new Dictionary<string, string>());
        for (var i = 0; i < silos; i++)
        {
            cluster.AddSilo();
        }

        await cluster.WaitForActiveSilosAsync(silos, restartExited: true);
        await cluster.ConnectClientAsync();
        return cluster;
    }

    /// <summary>Starts one more silo process (ports chosen free on loopback).</summary>
    public SiloProcess AddSilo()
    {
        var name = $"silo{_silos.Count + 1}";
        var environment = new Dictionary<string, string>(_extraEnvironment)
        {
            ["ConnectionStrings__Stepcast"] = _connectionString,
            ["Stepcast__Topology"] = "Cluster",
            ["Stepcast__Cluster__ClusterId"] = _clusterId,
            ["Stepcast__Cluster__ServiceId"] = _clusterId,
            ["Stepcast__Cluster__SiloPort"] = LoopbackPorts.Free().ToString(),
            ["Stepcast__Cluster__GatewayPort"] = LoopbackPorts.Free().ToString(),
            ["Stepcast__Cluster__SiloName"] = name,
            // Probes, metrics and the dashboard: any free port, taken by Kestrel itself so it cannot race the others.
            ["Urls"] = "http://127.0.0.1:0",
            // Declare a killed silo dead within seconds rather than the production default of about a minute (a killed
            // process refuses probes at once), yet give a live silo on a saturated 2-core machine three seconds a probe:
            // at one second, silos still starting were voted dead while other test clusters ran.
            ["Stepcast__Cluster__Membership__ProbeTimeout"] = "00:00:03",
            ["Stepcast__Cluster__Membership__NumMissedProbesLimit"] = "3",
            ["Stepcast__Cluster__Membership__NumVotesForDeathDeclaration"] = "1",
            ["Stepcast__Cluster__Membership__TableRefreshTimeout"] = "00:00:02",
            ["Stepcast__Cluster__Membership__IAmAliveTablePublishTimeout"] = "00:00:05",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var silo = SiloProcess.Start(name, environment);
        _silos.Add(silo);
        return silo;
    }

    /// <summary>Starts a stopped or killed silo again with the same settings (a new generation).</summary>
    public Task RestartAsync(SiloProcess silo)
    {
        silo.Restart();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Waits until <paramref name="count"/> silos are active in the membership table. At start-up
    /// (<paramref name="restartExited"/>), a silo process that exited is started again: on a saturated 2-core machine
    /// a silo still joining can miss its probes, be voted dead and stop itself, which is Orleans doing its job, not
    /// what the test is about. So is a silo still not active <see cref="StuckJoinLimit"/> after its launch: CI once
    /// saw a joining silo and an active one time out every call between them for two minutes.
    /// </summary>
    public async Task WaitForActiveSilosAsync(int count, bool restartExited = false)
    {
        var limit = TimeSpan.FromSeconds(180);
        var deadline = DateTime.UtcNow + limit;
        var restarts = 0;
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);
        while (true)
        {
            await using var command = dataSource.CreateCommand(
                "select siloname from orleansmembershiptable where deploymentid = $1 and status = 3");
            command.Parameters.AddWithValue(_clusterId);
            var activeNames = new List<string>();
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    activeNames.Add(reader.GetString(0));
                }
            }

            if (activeNames.Count == count)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"{activeNames.Count} of {count} silos active after {limit.TotalSeconds} s ({restarts} restarted; active: "
                    + $"{string.Join(", ", activeNames)}). Last lines of each silo's log:\n"
                    + string.Join("\n", _silos.Select(s => $"-- {s.Name} (running: {s.IsRunning}): {s.LogTail(15)}")));
            }

            if (restartExited && restarts < 2 * count)
            {
                var stuck = _silos.Where(s => !s.IsRunning
                    || (!activeNames.Contains(s.Name) && DateTime.UtcNow - s.LaunchedAt > StuckJoinLimit));
                foreach (var silo in stuck.ToList())
                {
                    restarts++;
                    silo.Restart();
                }
            }

            await Task.Delay(250);
        }
    }

    /// <summary>How long a silo may take to become active at start-up before it is started again.</summary>
    private static readonly TimeSpan StuckJoinLimit = TimeSpan.FromSeconds(50);

    private async Task ConnectClientAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client => client
            .Configure<ClusterOptions>(options =>
            {
                options.ClusterId = _clusterId;
                options.ServiceId = _clusterId;
            })
            .UseStepcastPostgres(_connectionString));
        _clientHost = builder.Build();
        await _clientHost.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_clientHost is not null)
        {
            try
            {
                await _clientHost.StopAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception)
            {
                // The silos may already be gone; nothing to hand back.
            }

            _clientHost.Dispose();
        }

        foreach (var silo in _silos)
        {
            silo.Kill();
        }
    }
}

/// <summary>One Stepcast.Silo process, its output in a log file under the temp folder.</summary>
public sealed class SiloProcess
{
    private readonly IReadOnlyDictionary<string, string> _environment;
    private Process _process;

    private SiloProcess(string name, IReadOnlyDictionary<string, string> environment)
    {
        Name = name;
        _environment = environment;
        LogPath = Path.Combine(Path.GetTempPath(), $"stepcast-{name}-{Guid.NewGuid():N}.log");
        _process = Launch();
    }

    public string Name { get; }
    public string LogPath { get; }

    /// <summary>When the current generation was started.</summary>
    public DateTime LaunchedAt { get; private set; }

    public bool IsRunning => !_process.HasExited;

    /// <summary>The exit code of the current generation once it has exited: 0 after a graceful shutdown.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public static SiloProcess Start(string name, IReadOnlyDictionary<string, string> environment) => new(name, environment);

    /// <summary>A crash: SIGKILL, no shutdown, no hand-off.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>What Kubernetes does: SIGTERM, then wait for the host to shut down gracefully.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var signal = Process.Start("kill", ["-TERM", _process.Id.ToString()]))
        {
            await signal.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
    }

    /// <summary>The last lines the process wrote, for a failure message.</summary>
    public string LogTail(int lines)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join("\n", all.TakeLast(lines));
        }
        catch (IOException exception)
        {
            return $"(log unreadable: {exception.Message})";
        }
    }

    public void Restart()
    {
        Kill();
        _process = Launch();
    }

    private Process Launch()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Stepcast.Silo.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        LaunchedAt = DateTime.UtcNow;
        var log = new StreamWriter(LogPath, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
