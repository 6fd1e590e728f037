using System.Diagnostics;
using Npgsql;
using Stepcast.Silo.Postgres;

namespace Stepcast.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL for the test run: a throwaway server (initdb + pg_ctl in a temp dir, on a free
/// loopback port, durability switched off for speed) with the Stepcast schema applied, or, when
/// STEPCAST_TEST_POSTGRES holds a connection string, that existing database.
/// </summary>
/// <remarks>
/// Never skips: a machine without the PostgreSQL server binaries fails the PG tests with a message
/// saying what to install.
/// </remarks>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string ExistingServerVariable = "STEPCAST_TEST_POSTGRES";
    public const string BinDirectoryVariable = "STEPCAST_PG_BIN";

    private const string DatabaseName = "stepcast";
    private const string Superuser = "postgres";

    private string? _rootDirectory;
    private string? _dataDirectory;
    private string? _binDirectory;
    private bool _runAsPostgresUser;

    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var existing = Environment.GetEnvironmentVariable(ExistingServerVariable);
        if (!string.IsNullOrWhiteSpace(existing))
        {
            ConnectionString = existing;
        }
        else
        {
            ConnectionString = await StartThrowawayServerAsync();
        }

        DataSource = NpgsqlDataSource.Create(ConnectionString);
        await PostgresSchema.ApplyAsync(DataSource, CancellationToken.None);
    }

    /// <summary>Creates an empty database on the same server and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using (var command = DataSource.CreateCommand($"CREATE DATABASE \"{name}\""))
        {
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        if (DataSource is not null)
        {
            await DataSource.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();

        if (_dataDirectory is not null)
        {
            // Immediate: nothing here is worth a checkpoint.
            await RunAsync(PgTool("pg_ctl"), ["-D", _dataDirectory, "-m", "immediate", "-w", "stop"], throwOnError: false);
        }

        if (_rootDirectory is not null)
        {
            try
            {
                Directory.Delete(_rootDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp dir is not worth failing the run for.
            }
        }
    }

    private async Task<string> StartThrowawayServerAsync()
    {
        _binDirectory = FindBinDirectory();
        _runAsPostgresUser = Environment.UserName == "root";

        _rootDirectory = Path.Combine(Path.GetTempPath(), "stepcast-pg-" + Guid.NewGuid().ToString("N")[..12]);
        _dataDirectory = Path.Combine(_rootDirectory, "data");
        Directory.CreateDirectory(_rootDirectory);
        if (_runAsPostgresUser)
        {
            // initdb and postgres refuse to run as root; the server runs as the postgres user instead.
            await RunAsync("chown", [Superuser, _rootDirectory], throwOnError: true, asPostgres: false);
        }

        await RunAsync(PgTool("initdb"),
            ["-D", _dataDirectory, "-U", Superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            throwOnError: true);

        var port = LoopbackPorts.Free();
        string[] settings =
        [
            $"-p {port}",
            "-c listen_addresses=127.0.0.1",
            $"-c unix_socket_directories={_rootDirectory}",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=300",
            "-c shared_buffers=64MB",
        ];
        await RunAsync(PgTool("pg_ctl"),
            ["-D", _dataDirectory, "-l", Path.Combine(_rootDirectory, "server.log"), "-w", "-t", "60", "-o", string.Join(' ', settings), "start"],
            throwOnError: true);

        var admin = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = Superuser,
            Database = "postgres",
        };
        await using (var connection = new NpgsqlConnection(admin.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName}", connection);
            await create.ExecuteNonQueryAsync();
        }

        admin.Database = DatabaseName;
        return admin.ConnectionString;
    }

    private static string FindBinDirectory()
    {
        var configured = Environment.GetEnvironmentVariable(BinDirectoryVariable);
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(configured))
        {
            candidates.Add(configured);
        }

        candidates.Add("/usr/lib/postgresql/15/bin");
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql")
                .OrderDescending(StringComparer.Ordinal)
                .Select(d => Path.Combine(d, "bin")));
        }

        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
            ?? throw new InvalidOperationException(
                "PostgreSQL tests need a PostgreSQL server: none of " + string.Join(", ", candidates) +
                " has initdb and pg_ctl. Install it (Debian: apt-get install postgresql-15), point " +
                $"{BinDirectoryVariable} at its bin directory, or set {ExistingServerVariable} to a connection string.");
    }

    private string PgTool(string name) => Path.Combine(_binDirectory!, name);

    private Task RunAsync(string fileName, IReadOnlyList<string> arguments, bool throwOnError) =>
        RunAsync(fileName, arguments, throwOnError, _runAsPostgresUser);

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, bool throwOnError, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            FileName = asPostgres ? "runuser" : fileName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
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
        // pg_ctl start leaves the server holding inherited pipes open, so don't wait for EOF on them.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0 && throwOnError)
        {
            var error = stderr.IsCompleted ? await stderr : "";
            var output = stdout.IsCompleted ? await stdout : "";
            throw new InvalidOperationException(
                $"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {error}{output}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "Postgres";
}
