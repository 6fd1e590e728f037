using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Stepcast.Grains;
using Stepcast.Grains.Diagnostics;
using Stepcast.Grains.Friends;
using Stepcast.Silo.Storage;

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
    /// The friends' ADO.NET storage under <see cref="FriendStateStore.BatchedMovingFromAdoNet"/>: its rows are the ones
    /// <see cref="FriendStateStore.AdoNet"/> wrote (the state name, not the provider name, keys a row).
    /// </summary>
    public const string FormerFriendsStorageName = StorageNames.Friends + "-adonet";

    /// <summary>
    /// Clustering (membership table), grain storage (the default store with System.Text.Json payloads, and
    /// <see cref="FriendsStorageName"/> as <paramref name="friendStateStore"/> says) and the reminder table, all in one
    /// PostgreSQL database.
    /// </summary>
    public static ISiloBuilder UseStepcastPostgres(
        this ISiloBuilder silo, string connectionString, FriendStateStore friendStateStore = FriendStateStore.Batched,
        ReminderTableStore reminderTable = ReminderTableStore.Batched)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        silo.UseAdoNetClustering(options =>
        {
            options.Invariant = Invariant;
            options.ConnectionString = connectionString;
        });

        return silo.UseStepcastPostgresStorageAndReminders(connectionString, friendStateStore, reminderTable);
    }

    /// <summary>Grain storage and reminders on PostgreSQL, leaving clustering to the caller (tests use their own).</summary>
    public static ISiloBuilder UseStepcastPostgresStorageAndReminders(
        this ISiloBuilder silo, string connectionString, FriendStateStore friendStateStore = FriendStateStore.Batched,
        ReminderTableStore reminderTable = ReminderTableStore.Batched)
    {
        // The batched stores report their statements; hosts without the engine (tests, tools) get the meter here.
        silo.Services.AddMetrics();
        silo.Services.TryAddSingleton<StepcastMetrics>();
        // Also in AddStepcastEngineServices; here for hosts and tests that use these stores without the engine.
        // Registering it twice replaces it with itself.
        silo.Services.AddDirectPersistentState();
        silo.AddStepcastGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, connectionString);
        if (friendStateStore is FriendStateStore.Batched or FriendStateStore.BatchedMovingFromAdoNet)
        {
            var moving = friendStateStore == FriendStateStore.BatchedMovingFromAdoNet;
            if (moving)
            {
                silo.AddStepcastGrainStorage(FormerFriendsStorageName, connectionString);
            }

            silo.Services.AddGrainStorage(FriendsStorageName, (services, _) =>
            {
                var formerFriends = moving ? services.GetRequiredKeyedService<IGrainStorage>(FormerFriendsStorageName) : null;
                // Directory buckets and pages were in the default store until they joined the friends: what this table
                // lacks of them is read from there, whichever way the friends moved.
                var formerDirectory = services.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);
                return new BatchedPostgresGrainStorage(
                    connectionString,
                    services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
                    // Orleans' binary format: a friend's state is read and written on every step, and JSON cost a
                    // quarter of the CPU of the embedded host's ingest when it was profiled.
                    services.GetRequiredService<Serializer>(),
                    services.GetRequiredService<StepcastMetrics>(),
                    stateName => FriendDirectory.IsDirectoryState(stateName) ? formerDirectory : formerFriends);
            });
            // Friend rows carry their safety net: friends need no reminder row behind a step due now, and a sweep wakes
            // the ones a crashed silo was running.
            silo.Services.AddSingleton<ISafetyNetStore>(services =>
                (BatchedPostgresGrainStorage)services.GetRequiredKeyedService<IGrainStorage>(FriendsStorageName));
            silo.Services.TryAddSingleton(TimeProvider.System);
            silo.Services.AddHostedService<SafetyNetSweepService>();
        }
        else
        {
            silo.AddStepcastGrainStorage(FriendsStorageName, connectionString);
        }

        if (reminderTable == ReminderTableStore.Batched)
        {
            silo.AddReminders();
            silo.Services.AddSingleton<IReminderTable>(services => new BatchedPostgresReminderTable(
                connectionString,
                services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
                services.GetRequiredService<StepcastMetrics>()));
        }
        else
        {
            silo.UseAdoNetReminderService(options =>
            {
                options.Invariant = Invariant;
                options.ConnectionString = connectionString;
            });
        }

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

/// <summary>Where the per-friend grains keep their state on PostgreSQL (<c>Stepcast:Postgres:FriendStateStore</c>).</summary>
public enum FriendStateStore
{
    /// <summary><see cref="BatchedPostgresGrainStorage"/>: concurrent reads and writes share statements and commits.</summary>
    Batched,

    /// <summary>Orleans' ADO.NET provider, one statement and commit per grain: a database written before the batched store.</summary>
    AdoNet,

    /// <summary>
    /// Batched, reading a friend it has no row for from the ADO.NET table: a database written by
    /// <see cref="AdoNet"/> moves over friend by friend, each on its next write.
    /// </summary>
    BatchedMovingFromAdoNet,
}

/// <summary>Which provider keeps Orleans' reminder table on PostgreSQL (<c>Stepcast:Postgres:ReminderTable</c>).</summary>
/// <remarks>Both keep the same rows with the same versions: silos on either can share one database.</remarks>
public enum ReminderTableStore
{
    /// <summary><see cref="BatchedPostgresReminderTable"/>: concurrent reminder writes share statements and commits.</summary>
    Batched,

    /// <summary>Orleans' ADO.NET provider, one statement and commit per reminder write.</summary>
    AdoNet,
}
