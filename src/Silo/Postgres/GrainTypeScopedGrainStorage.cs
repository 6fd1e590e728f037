using Orleans.Runtime;
using Orleans.Storage;

namespace Stepcast.Silo.Postgres;

/// <summary>
/// Wraps the ADO.NET grain storage so that a grain's full identity reaches the table.
/// </summary>
/// <remarks>
/// Orleans 10.x <c>AdoNetGrainStorage</c> keys a row by (ServiceId, state name, key) and never by
/// grain type (dotnet/orleans#8746, #9737), and it re-parses string keys that look like hex numbers
/// or Guids into numeric keys, so "020235" and "20235" share a row (#9706). Two grain types that
/// both use the state name "state" and key a grain by the same LINE user id would silently read
/// each other's state. This decorator passes "{grain type}/{state name}" as the state name and
/// hands the provider a key prefixed with a character that can never parse as a number or Guid,
/// so every row is exactly one grain's state.
/// </remarks>
internal sealed class GrainTypeScopedGrainStorage(IGrainStorage inner) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    // Not a hex digit, not a Guid character, so the provider always treats the key as a string.
    private const string KeyPrefix = "k:";

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(ScopedStateName(stateName, grainId), StorageGrainId(grainId), grainState);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        inner.ReadStateAsync(ScopedStateName(stateName, grainId), StorageGrainId(grainId), grainState, cancellationToken);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.WriteStateAsync(ScopedStateName(stateName, grainId), StorageGrainId(grainId), grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        inner.WriteStateAsync(ScopedStateName(stateName, grainId), StorageGrainId(grainId), grainState, cancellationToken);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(ScopedStateName(stateName, grainId), StorageGrainId(grainId), grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        inner.ClearStateAsync(ScopedStateName(stateName, grainId), StorageGrainId(grainId), grainState, cancellationToken);

    public void Participate(ISiloLifecycle lifecycle) =>
        (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);

    internal static string ScopedStateName(string stateName, GrainId grainId) => $"{grainId.Type}/{stateName}";

    internal static GrainId StorageGrainId(GrainId grainId) =>
        GrainId.Create(grainId.Type, KeyPrefix + grainId.Key.ToString());
}
