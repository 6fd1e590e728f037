using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Stepcast.Silo.Postgres;

/// <summary>What <see cref="PostgresSchema.ApplyAsync"/> did with one script.</summary>
public sealed record SchemaScriptResult(string Name, string Checksum, bool Applied);

/// <summary>
/// The Orleans tables and queries (clustering, grain storage, reminders) that Stepcast keeps in
/// PostgreSQL. Orleans does not ship these scripts in its packages, so they live here as embedded
/// resources (Postgres/NNN-name.sql) and are applied in name order.
/// </summary>
public static class PostgresSchema
{
    // Any fixed number works; it only has to be the same for every silo and migrate run.
    private const long MigrationLockKey = 0x5374_6570_6361_7374; // "Stepcast"

    private const string ResourcePrefix = "Stepcast.Silo.Postgres.";

    /// <summary>The embedded scripts, in the order they are applied.</summary>
    public static IReadOnlyList<(string Name, string Sql)> Scripts { get; } = LoadScripts();

    /// <summary>
    /// Applies every script whose name or content is not yet recorded in StepcastSchemaVersion, in one
    /// transaction, under a transaction-scoped advisory lock so silos starting together queue up
    /// instead of racing on CREATE TABLE. The scripts are idempotent themselves, so a changed script
    /// (for example a corrected query text) is simply applied again.
    /// </summary>
    public static async Task<IReadOnlyList<SchemaScriptResult>> ApplyAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(dataSource);

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLockKey});", ct);
        await ExecuteAsync(connection, transaction, """
            CREATE TABLE IF NOT EXISTS StepcastSchemaVersion
            (
                ScriptName varchar(200) NOT NULL PRIMARY KEY,
                Checksum   char(64)     NOT NULL,
                AppliedOn  timestamptz  NOT NULL DEFAULT now()
            );
            """, ct);

        var recorded = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var read = new NpgsqlCommand("SELECT ScriptName, Checksum FROM StepcastSchemaVersion;", connection, transaction))
        await using (var reader = await read.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                recorded[reader.GetString(0)] = reader.GetString(1).Trim();
            }
        }

        var results = new List<SchemaScriptResult>(Scripts.Count);
        foreach (var (name, sql) in Scripts)
        {
            var checksum = Checksum(sql);
            if (recorded.TryGetValue(name, out var known) && known == checksum)
            {
                results.Add(new SchemaScriptResult(name, checksum, Applied: false));
                continue;
            }

            await ExecuteAsync(connection, transaction, sql, ct);
            await using (var record = new NpgsqlCommand("""
                INSERT INTO StepcastSchemaVersion (ScriptName, Checksum) VALUES (@name, @checksum)
                ON CONFLICT (ScriptName) DO UPDATE SET Checksum = EXCLUDED.Checksum, AppliedOn = now();
                """, connection, transaction))
            {
                record.Parameters.AddWithValue("name", name);
                record.Parameters.AddWithValue("checksum", checksum);
                await record.ExecuteNonQueryAsync(ct);
            }

            results.Add(new SchemaScriptResult(name, checksum, Applied: true));
        }

        await transaction.CommitAsync(ct);
        return results;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static string Checksum(string sql) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n"))));

    private static IReadOnlyList<(string Name, string Sql)> LoadScripts()
    {
        var assembly = typeof(PostgresSchema).Assembly;
        var scripts = new List<(string Name, string Sql)>();
        foreach (var resource in assembly.GetManifestResourceNames()
                     .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"Embedded schema script {resource} could not be opened.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            scripts.Add((resource[ResourcePrefix.Length..], reader.ReadToEnd()));
        }

        if (scripts.Count == 0)
        {
            throw new InvalidOperationException(
                $"No schema scripts are embedded in {assembly.GetName().Name}; expected resources named {ResourcePrefix}NNN-name.sql.");
        }

        return scripts;
    }
}
