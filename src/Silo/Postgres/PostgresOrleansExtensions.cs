using Stepcast.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers;
using Orleans.Serialization;
using Orleans.Storage;

namespace Stepcast.Silo.Postgres;

/// <summary>
/// Orleans on PostgreSQL through the ADO.NET providers, using the tables and queries of
/// <see cref="PostgresSchema"/> (apply it first: <c>dotnet run --project src/Silo -- migrate</c>).
/// </summary>
public static class PostgresOrleansExtensions
{
    /// <summary>The ADO.NET invariant Orleans maps to Npgsql.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>Grain storage for the friend grains, separate from the default so it can be moved on its own.</summary>
    public const string FriendsStorageName = StorageNames.Friends;

    /// <summary>
    /// Clustering (membership table), grain storage (default and <see cref="FriendsStorageName"/>,
    /// System.Text.Json payloads) and the reminder table, all in one PostgreSQL database.
    /// </summary>
    public static ISiloBuilder UseStepcastPostgres(this ISiloBuilder silo, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        silo.UseAdoNetClustering(options =>
        {
            options.Invariant = Invariant;
            options.ConnectionString = connectionString;
        });

        return silo.UseStepcastPostgresStorageAndReminders(connectionString);
    }

    /// <summary>Grain storage and reminders on PostgreSQL, leaving clustering to the caller (tests use their own).</summary>
    public static ISiloBuilder UseStepcastPostgresStorageAndReminders(this ISiloBuilder silo, string connectionString)
    {
        silo.AddStepcastGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, connectionString);
        silo.AddStepcastGrainStorage(FriendsStorageName, connectionString);

        silo.UseAdoNetReminderService(options =>
        {
            options.Invariant = Invariant;
            options.ConnectionString = connectionString;
        });

        return silo;
    }

    /// <summary>Gateway discovery for API pods: the active silos listed in the membership table.</summary>
    public static IClientBuilder UseStepcastPostgres(this IClientBuilder client, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        return client.UseAdoNetClustering(options =>
        {
            options.Invariant = Invariant;
            options.ConnectionString = connectionString;
        });
    }

    private static void AddStepcastGrainStorage(this ISiloBuilder silo, string name, string connectionString)
    {
        silo.AddAdoNetGrainStorage(name, optionsBuilder => optionsBuilder
            .Configure<IOptions<SystemTextJsonGrainStorageSerializerOptions>>((options, json) =>
            {
                options.Invariant = Invariant;
                options.ConnectionString = connectionString;
                // Orleans' default is Newtonsoft.Json; System.Text.Json is what the rest of Stepcast uses.
                options.GrainStorageSerializer = new SystemTextJsonGrainStorageSerializer(json);
            }));

        DecorateGrainStorage(silo.Services, name);
    }

    // AddAdoNetGrainStorage registers the provider as a keyed IGrainStorage (and resolves that same
    // keyed service as the lifecycle participant), so replacing the keyed registration is enough.
    private static void DecorateGrainStorage(IServiceCollection services, string name)
    {
        var index = -1;
        for (var i = services.Count - 1; i >= 0; i--)
        {
            var candidate = services[i];
            if (candidate.ServiceType == typeof(IGrainStorage) && candidate.IsKeyedService && Equals(candidate.ServiceKey, name))
            {
                index = i;
                break;
            }
        }

        if (index < 0 || services[index].KeyedImplementationFactory is not { } createInner)
        {
            throw new InvalidOperationException(
                $"Grain storage '{name}' was not registered as a keyed factory; the Orleans ADO.NET registration has changed.");
        }

        services[index] = ServiceDescriptor.KeyedSingleton<IGrainStorage>(
            name,
            (provider, key) => new GrainTypeScopedGrainStorage((IGrainStorage)createInner(provider, key)));
    }
}
