using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Stepcast.Grains.Friends;

/// <summary>A directory bucket's persisted ids, sorted ordinally. [Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class FriendDirectoryState
{
    [Id(0)] public List<string> LineUserIds { get; set; } = [];
}

/// <summary>
/// Reentrant so that additions arriving while a write is in flight share the next write (a group commit): a burst
/// of new friends costs a few writes per bucket, not one each.
/// </summary>
[Reentrant]
public sealed class FriendDirectoryGrain(
    [PersistentState("friend-directory")] IPersistentState<FriendDirectoryState> state) : Grain, IFriendDirectoryGrain
{
    private long _changes;
    private long _saved;
    private Task? _writing;

    private List<string> Ids => state.State.LineUserIds;

    async Task IFriendDirectoryGrain.Add(string lineUserId)
    {
        var at = Ids.BinarySearch(lineUserId, StringComparer.Ordinal);
        if (at < 0)
        {
            Ids.Insert(~at, lineUserId);
            _changes++;
        }

        // Also when already listed: an earlier addition of the same id may still be on its way to storage.
        var needed = _changes;
        while (_saved < needed)
        {
            if (_writing is null || _writing.IsCompleted)
            {
                _writing = WriteAsync();
            }

            await _writing;
        }
    }

    Task<ImmutableArray<string>> IFriendDirectoryGrain.List(string? after, int limit)
    {
        var from = 0;
        if (after is not null)
        {
            var at = Ids.BinarySearch(after, StringComparer.Ordinal);
            from = at >= 0 ? at + 1 : ~at;
        }

        return Task.FromResult(Ids.Skip(from).Take(Math.Max(0, limit)).ToImmutableArray());
    }

    private async Task WriteAsync()
    {
        var covering = _changes;
        await state.WriteStateAsync();
        _saved = Math.Max(_saved, covering);
    }
}
