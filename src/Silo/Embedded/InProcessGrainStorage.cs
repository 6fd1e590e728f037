using System.Collections.Concurrent;
using System.Globalization;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace Stepcast.Silo.Embedded;

/// <summary>
/// Grain storage of the embedded topology: each grain's state as serialised bytes in this process's memory, with the
/// same optimistic check as the PostgreSQL store (the ETag is a version; a write naming another version is refused
/// with <see cref="InconsistentStateException"/>). Lost when the process stops, like any in-memory store.
/// </summary>
/// <remarks>
/// Orleans' memory provider keeps state in storage grains, so every read and write of a friend is a grain call with
/// its messaging and a copy of the payload: in a profile of the embedded ingest (three writes and a read per follow)
/// that was about a sixth of the host's CPU. Only one silo ever sees this store: embedded clustering is one process.
/// State is serialised by Orleans' binary serializer straight to an array of the payload's size: the storage
/// serializer's BinaryData grew a buffer that was then copied once more (a tenth of all bytes allocated per follow in
/// a profile of the embedded ingest). Entries are keyed by the grain id itself and the state name, not by a string
/// made of them: no string formatted and hashed per read and write, and the id's own key bytes kept, not a longer copy.
/// </remarks>
public sealed class InProcessGrainStorage(Serializer serializer) : IGrainStorage
{
    // The grain id names the grain type, so two types keyed alike never share an entry.
    private readonly ConcurrentDictionary<(GrainId Grain, string State), StoredState> _states = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_states.TryGetValue((grainId, stateName), out var stored))
        {
            grainState.ETag = Tag(stored.Version);
            grainState.RecordExists = stored.Payload is not null;
            if (stored.Payload is { } payload)
            {
                grainState.State = serializer.Deserialize<T>(payload);
            }
        }
        else
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var payload = serializer.SerializeToArray(grainState.State);
        var version = Replace(stateName, grainId, grainState.ETag, payload);
        grainState.ETag = Tag(version);
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (grainState.ETag is not null)
        {
            // Kept as a version without a payload, so a writer still holding the old version is refused.
            grainState.ETag = Tag(Replace(stateName, grainId, grainState.ETag, payload: null));
        }

        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    /// <summary>Stores the payload if the stored version is still the expected one (none: nothing stored yet).</summary>
    private int Replace(string stateName, GrainId grainId, string? etag, byte[]? payload)
    {
        var key = (grainId, stateName);
        var expected = etag is null ? (int?)null : int.Parse(etag, NumberStyles.None, CultureInfo.InvariantCulture);
        while (true)
        {
            if (_states.TryGetValue(key, out var stored))
            {
                if (stored.Version != expected)
                {
                    throw Conflict(stateName, grainId, etag, stored.Version);
                }

                var next = new StoredState(stored.Version + 1, payload);
                if (_states.TryUpdate(key, next, stored))
                {
                    return next.Version;
                }
            }
            else
            {
                if (expected is not null)
                {
                    throw Conflict(stateName, grainId, etag, storedVersion: null);
                }

                if (_states.TryAdd(key, new StoredState(1, payload)))
                {
                    return 1;
                }
            }
        }
    }

    private static InconsistentStateException Conflict(string stateName, GrainId grainId, string? etag, int? storedVersion) =>
        new($"Writing {stateName} of {grainId}: expected version {etag ?? "none"}, stored {Tag(storedVersion) ?? "none"}.",
            Tag(storedVersion) ?? "none", etag ?? "none");

    private static string? Tag(int? version) => version?.ToString(CultureInfo.InvariantCulture);

    // A class, so TryUpdate compares this very instance: a write that raced another one retries and is refused.
    private sealed class StoredState(int version, byte[]? payload)
    {
        public int Version { get; } = version;
        public byte[]? Payload { get; } = payload;
    }
}
