using System.Diagnostics;
using Npgsql;
using Stepcast.Silo.Postgres;

namespace Stepcast.LoadHarness;

/// <summary>
/// A PostgreSQL 15 for one harness run: initdb and pg_ctl in a temp folder on a free loopback port (as the
/// postgres user when run as root), with the Stepcast schema applied; or an existing database (<c>--pg</c>).
/// The throwaway server keeps PostgreSQL's default durability (fsync, synchronous commit), as production would;
/// <c>--pg-synchronous-commit off</c> turns synchronous commit off, to see how much of a run is spent waiting for
/// commits to reach the disk.
/// </summary>
public sealed class ThrowawayPostgres : IAsyncDisposable
{
    private const string Superuser = "postgres";
    private string? _root;
    private string? _data;
    private string? _bin;
    private bool _asPostgres;
    private IDisposable? _cleanup;

    public string ConnectionString { get; private set; } = "";

    /// <param name="settings">More server settings, <c>name=value</c> pairs separated by commas (<c>--pg-conf</c>).</param>
    public static async Task<ThrowawayPostgres> StartAsync(
        string? existingConnectionString, bool synchronousCommit, string? settings, CancellationToken cancellationToken)
    {
        var server = new ThrowawayPostgres();
        server.ConnectionString = existingConnectionString ?? await server.StartServerAsync(synchronousCommit, settings, cancellationToken);
        await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString);
        await PostgresSchema.ApplyAsync(dataSource, cancellationToken);
        return server;
    }

    /// <summary>Row count and total size (table, indexes, TOAST) of a table.</summary>
    public async Task<(long Rows, long Bytes)> TableAsync(string table)
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var command = dataSource.CreateCommand($"SELECT count(*), pg_total_relation_size('{table}') FROM {table}");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>Grain state in both stores: Orleans' ADO.NET table and the friends' batched store.</summary>
    public async Task<(long Rows, long Bytes)> GrainStateAsync()
    {
        var orleans = await TableAsync("orleansstorage");
        var friends = await TableAsync("stepcastgrainstate");
        return (orleans.Rows + friends.Rows, orleans.Bytes + friends.Bytes);
    }

    /// <summary>
    /// CPU time of the throwaway server: the postmaster and its children (backends, WAL writer, checkpointer), from
    /// /proc; zero for an existing server (<c>--pg</c>). Backends that have exited are not counted.
    /// </summary>
    public TimeSpan CpuTime()
    {
        if (_data is null || !File.Exists(Path.Combine(_data, "postmaster.pid")))
        {
            return TimeSpan.Zero;
        }

        var postmaster = File.ReadLines(Path.Combine(_data, "postmaster.pid")).First().Trim();
        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var pid = Path.GetFileName(dir);
            if (!pid.All(char.IsAsciiDigit))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // Fields after the command name (which may hold spaces): state ppid … utime(14) stime(15).
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (pid == postmaster || fields[1] == postmaster)
                {
                    ticks += long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
        }

        // USER_HZ is 100 on Linux.
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    private async Task<string> StartServerAsync(bool synchronousCommit, string? settings, CancellationToken cancellationToken)
    {
        _bin = new[] { "/usr/lib/postgresql/15/bin" }
            .Concat(Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending(StringComparer.Ordinal).Select(d => Path.Combine(d, "bin"))
                : [])
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            ?? throw new InvalidOperationException("No PostgreSQL server binaries (initdb) under /usr/lib/postgresql: install postgresql-15 or pass --pg.");
        _asPostgres = Environment.UserName == "root";
        _root = Path.Combine(Path.GetTempPath(), "stepcast-load-pg-" + Guid.NewGuid().ToString("N")[..8]);
        _data = Path.Combine(_root, "data");
        Directory.CreateDirectory(_root);
        if (_asPostgres)
        {
            await RunAsync("chown", [Superuser, _root], asPostgres: false, cancellationToken);
        }

        await RunAsync(Path.Combine(_bin, "initdb"), ["-D", _data, "-U", Superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-instructions"],
            _asPostgres, cancellationToken);
        var port = Ports.FreeLoopbackPort();
        var options = $"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={_root} -c max_connections=300 -c shared_buffers=256MB"
            + (synchronousCommit ? "" : " -c synchronous_commit=off")
            + string.Concat((settings ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(setting =>
                setting.Contains('=', StringComparison.Ordinal) && !setting.Contains(' ', StringComparison.Ordinal)
                    ? $" -c {setting}"
                    : throw new ArgumentException($"--pg-conf takes name=value pairs separated by commas, not '{setting}'.")));
        await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", _data, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60", "-o", options, "start"],
            _asPostgres, cancellationToken);
        var (bin, data, asPostgres) = (_bin, _data, _asPostgres);
        _cleanup = ChildCleanup.Register(this, () => RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], asPostgres,
            CancellationToken.None, throwOnError: false).GetAwaiter().GetResult());

        var builder = new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = port, Username = Superuser, Database = "postgres" };
        await using (var dataSource = NpgsqlDataSource.Create(builder.ConnectionString))
        await using (var create = dataSource.CreateCommand("CREATE DATABASE stepcast"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        builder.Database = "stepcast";
        return builder.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        _cleanup?.Dispose();
        NpgsqlConnection.ClearAllPools();
        if (_data is not null)
        {
            await RunAsync(Path.Combine(_bin!, "pg_ctl"), ["-D", _data, "-m", "immediate", "-w", "stop"], _asPostgres, CancellationToken.None, throwOnError: false);
        }

        if (_root is not null)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is not worth failing the run for.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, bool asPostgres, CancellationToken cancellationToken, bool throwOnError = true)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (asPostgres)
        {
            foreach (var argument in (string[])["-u", Superuser, "--", fileName])
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        // pg_ctl start leaves the server holding the inherited pipes, so never wait for their end.
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0 && throwOnError)
        {
            throw new InvalidOperationException($"{Path.GetFileName(fileName)} exited with {process.ExitCode}: {(stderr.IsCompleted ? await stderr : "")}");
        }
    }
}
