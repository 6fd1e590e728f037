using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Stepcast.LoadHarness;

/// <summary>
/// A Stepcast host (the Api or the Silo) as a child process, started from the Release build output
/// (<c>dotnet src/Api/bin/Release/net10.0/Stepcast.Api.dll</c>), so the figures are those of the shipped host
/// in its own process with its own GC, not of the harness. Killed (by its process id) on dispose.
/// </summary>
public sealed class StepcastProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly IDisposable _cleanup;
    private readonly StreamWriter _log;
    private readonly Lock _logGate = new();
    private bool _logClosed;

    private StepcastProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        _cleanup = ChildCleanup.Register(this, () => process.Kill(entireProcessTree: true));
        // Everything the host writes, for tracing what the report's summary only counts (it keeps the last lines).
        var folder = Path.Combine(Path.GetTempPath(), "stepcast-load-logs");
        Directory.CreateDirectory(folder);
        LogPath = Path.Combine(folder, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{string.Concat(name.Where(char.IsLetterOrDigit))}-{process.Id}.log");
        _log = new StreamWriter(LogPath);
    }

    public string Name { get; }

    /// <summary>The file holding every line the host wrote.</summary>
    public string LogPath { get; }

    public int Id => _process.Id;

    /// <summary>
    /// Hosts start from a ReadyToRun publish (<c>--ready-to-run</c>), as the images ship them, instead of the JIT-only
    /// build output: the difference shows in the first burst after a start.
    /// </summary>
    public static bool ReadyToRun { get; set; }

    /// <summary>The Release build output of <paramref name="project"/> (<c>Api</c> or <c>Silo</c>), or its ReadyToRun publish.</summary>
    public static string BuildOutput(string project)
    {
        if (ReadyToRun)
        {
            return ReadyToRunOutput(project);
        }

        var dll = Path.Combine(RepositoryRoot(), "src", project, "bin", "Release", "net10.0", $"Stepcast.{project}.dll");
        return File.Exists(dll)
            ? dll
            : throw new InvalidOperationException($"{dll} is missing: build first with `dotnet build benchmarks/Stepcast.LoadHarness -c Release`.");
    }

    private static readonly ConcurrentDictionary<string, string> Published = new(StringComparer.Ordinal);

    /// <summary>Publishes <paramref name="project"/> ReadyToRun once per harness run, with the images' settings.</summary>
    private static string ReadyToRunOutput(string project) => Published.GetOrAdd(project, name =>
    {
        var root = RepositoryRoot();
        var folder = Path.Combine(root, "src", name, "bin", "Release", "net10.0", "linux-x64", "publish");
        Console.WriteLine($"publishing {name} ReadyToRun into {folder}…");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "publish", $"src/{name}/Stepcast.{name}.csproj", "-c", "Release", "-r", "linux-x64", "--self-contained", "false", "-p:PublishReadyToRun=true", "-o", folder, "-p:UseAppHost=false" })
        {
            start.ArgumentList.Add(argument);
        }

        using var publish = Process.Start(start)!;
        var output = publish.StandardOutput.ReadToEndAsync();
        var errors = publish.StandardError.ReadToEndAsync();
        publish.WaitForExit();
        return publish.ExitCode == 0
            ? Path.Combine(folder, $"Stepcast.{name}.dll")
            : throw new InvalidOperationException($"publishing {name} ReadyToRun failed:\n{output.Result}{errors.Result}");
    });

    public static StepcastProcess Start(string name, string project, IReadOnlyDictionary<string, string> environment) =>
        StartDll(name, BuildOutput(project), environment);

    /// <summary>The Release build output of the Hangfire baseline (<c>benchmarks/Stepcast.HangfireBaseline</c>).</summary>
    public static string BaselineBuildOutput() => BenchmarkBuildOutput("Stepcast.HangfireBaseline");

    /// <summary>The Release build output of a host under <c>benchmarks/</c> (the Hangfire baseline, the floor host).</summary>
    public static string BenchmarkBuildOutput(string project)
    {
        var dll = Path.Combine(RepositoryRoot(), "benchmarks", project, "bin", "Release", "net10.0", $"{project}.dll");
        return File.Exists(dll)
            ? dll
            : throw new InvalidOperationException($"{dll} is missing: build first with `dotnet build benchmarks/Stepcast.LoadHarness -c Release`.");
    }

    public static StepcastProcess StartDll(string name, string dll, IReadOnlyDictionary<string, string> environment)
    {
        // The Api reads appsettings.json from its content root, the working folder.
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(dll)!, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {dll}.");
        var child = new StepcastProcess(name, process);
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits until the process has written a line containing <paramref name="marker"/>.</summary>
    public async Task WaitForOutputAsync(string marker, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (!_output.Any(line => line.Contains(marker, StringComparison.Ordinal)))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{string.Join('\n', _output.TakeLast(40))}");
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name} did not write '{marker}' within {timeout.TotalSeconds:0} s:\n{string.Join('\n', _output.TakeLast(40))}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Resident set size now and at its peak (VmRSS, VmHWM), in bytes.</summary>
    public (long Rss, long PeakRss) Memory()
    {
        // "VmRSS:\t  123456 kB": the tab is the only separator once the figure reaches 8 digits (~9.5 GB).
        long Read(string field) => File.ReadLines($"/proc/{_process.Id}/status")
            .Where(line => line.StartsWith(field + ":", StringComparison.Ordinal))
            .Select(line => long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024)
            .FirstOrDefault();
        return (Read("VmRSS"), Read("VmHWM"));
    }

    /// <summary>CPU time (user + system) the process has used so far.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>Lines the process wrote that look like problems (warnings, errors, exceptions), for the report.</summary>
    public IReadOnlyList<string> Problems() =>
        _output.Where(line => line.Contains("warn:", StringComparison.Ordinal) || line.Contains("fail:", StringComparison.Ordinal)
                || line.Contains("crit:", StringComparison.Ordinal) || line.Contains("Exception", StringComparison.Ordinal)).ToList();

    /// <summary>
    /// The host's warnings and errors by kind, most frequent first: the console logger writes the category on one
    /// line and the message on the next; ids and numbers are masked so that one kind counts once.
    /// </summary>
    public IReadOnlyList<(string Kind, int Count)> ProblemKinds(int top = 5)
    {
        var lines = _output.ToArray();
        var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("warn:", StringComparison.Ordinal) || lines[i].StartsWith("fail:", StringComparison.Ordinal)
                || lines[i].StartsWith("crit:", StringComparison.Ordinal))
            {
                var message = i + 1 < lines.Length ? lines[i + 1].Trim() : "";
                var kind = System.Text.RegularExpressions.Regex.Replace($"{lines[i]} {message}", "[0-9a-fA-F-]{6,}|\\d+", "…");
                kind = kind.Length > 240 ? kind[..240] : kind;
                kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            }
        }

        return kinds.OrderByDescending(k => k.Value).Take(top).Select(k => (k.Key, k.Value)).ToList();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logGate)
        {
            if (!_logClosed)
            {
                _log.WriteLine(line);
            }
        }

        _output.Enqueue(line);
        while (_output.Count > 20_000 && _output.TryDequeue(out _))
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _cleanup.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        lock (_logGate)
        {
            _logClosed = true;
            _log.Dispose();
        }

        Console.WriteLine($"{Name} log: {LogPath}");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Run the harness from the repository's build output (Orleans.sln not found above it).");
    }
}

public static class Ports
{
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
