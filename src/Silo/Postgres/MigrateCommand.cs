using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Stepcast.Silo.Postgres;

/// <summary>
/// <c>dotnet run --project src/Silo -- migrate</c>: applies <see cref="PostgresSchema"/> to the
/// database named by ConnectionStrings:Stepcast (env ConnectionStrings__Stepcast).
/// </summary>
public static class MigrateCommand
{
    public const string Name = "migrate";
    public const string ConnectionStringName = "Stepcast";

    public static async Task<int> RunAsync(IConfiguration configuration, TextWriter output, CancellationToken ct)
    {
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            await output.WriteLineAsync(
                $"migrate: no connection string. Set ConnectionStrings:{ConnectionStringName} (env ConnectionStrings__{ConnectionStringName}).");
            return 2;
        }

        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        await output.WriteLineAsync($"migrate: {builder.Host}:{builder.Port}/{builder.Database} as {builder.Username}");

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var results = await PostgresSchema.ApplyAsync(dataSource, ct);
        foreach (var result in results)
        {
            await output.WriteLineAsync(
                $"migrate: {result.Name} {(result.Applied ? "applied" : "already up to date")} (sha256 {result.Checksum[..12]})");
        }

        await output.WriteLineAsync($"migrate: done, {results.Count(r => r.Applied)} of {results.Count} scripts applied.");
        return 0;
    }
}
