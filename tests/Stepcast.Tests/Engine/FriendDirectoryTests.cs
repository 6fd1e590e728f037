using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Stepcast.Grains;
using Stepcast.Grains.Friends;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

[Collection(EngineClusterCollection.Name)]
public sealed class FriendDirectoryTests(EngineCluster cluster)
{
    [Fact]
    public async Task A_bucket_seals_full_pages_and_still_lists_every_friend_once_in_order()
    {
        var channel = NewChannel();
        const int bucket = 7;
        var ids = IdsInBucket(bucket, 2 * FriendDirectory.PageSize + 90);
        var directory = FriendDirectory.Bucket(cluster.Grains, channel, bucket);

        // Concurrent additions share writes; a few listed twice (a friend that crashed before storing it was listed).
        await Task.WhenAll(ids.Select(directory.Add));
        await Task.WhenAll(ids.Take(5).Select(directory.Add));

        Assert.Equal(2 * FriendDirectory.PageSize + 90, ids.Count);
        Assert.Equal(ids.Order(StringComparer.Ordinal), await ListAllAsync(directory));
        var firstPage = await FriendDirectory.Page(cluster.Grains, $"{channel}/{bucket}", 0).List(null, int.MaxValue);
        Assert.Equal(FriendDirectory.PageSize, firstPage.Length);
    }

    [Fact]
    public async Task A_bucket_an_earlier_release_left_with_a_larger_open_page_lists_it_and_seals_it_into_pages_on_its_next_addition()
    {
        var channel = NewChannel();
        const int bucket = 3;
        var ids = IdsInBucket(bucket, 4 * FriendDirectory.PageSize + 10);
        var directory = FriendDirectory.Bucket(cluster.Grains, channel, bucket);
        var storage = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Friends);
        // As a release with larger pages left it: more ids in the open page than this release ever keeps there.
        var earlier = ids.SkipLast(1).Order(StringComparer.Ordinal).ToList();
        await storage.WriteStateAsync(FriendDirectory.BucketStateName, directory.GetGrainId(),
            new GrainState<FriendDirectoryState>(new FriendDirectoryState { LineUserIds = earlier }));

        Assert.Equal(earlier, await ListAllAsync(directory));
        await directory.Add(ids[^1]);

        var stored = new GrainState<FriendDirectoryState>();
        await storage.ReadStateAsync(FriendDirectory.BucketStateName, directory.GetGrainId(), stored);
        var state = Assert.IsType<FriendDirectoryState>(stored.State);
        Assert.Equal((4, 10), (state.SealedPages, state.OpenIds().Count));
        Assert.Equal(ids.Order(StringComparer.Ordinal), await ListAllAsync(directory));
    }

    [Fact]
    public async Task A_bucket_stores_ids_in_LINEs_form_as_16_bytes_each_and_other_ids_as_text_and_lists_them_together_in_order()
    {
        var channel = NewChannel();
        const int bucket = 11;
        var lineIds = IdsInBucket(bucket, FriendDirectory.PageSize + 20);
        var otherIds = OtherIdsInBucket(bucket, 5);
        var directory = FriendDirectory.Bucket(cluster.Grains, channel, bucket);
        var storage = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Friends);

        foreach (var id in lineIds.Concat(otherIds))
        {
            await directory.Add(id);
        }

        var stored = new GrainState<FriendDirectoryState>();
        await storage.ReadStateAsync(FriendDirectory.BucketStateName, directory.GetGrainId(), stored);
        var state = Assert.IsType<FriendDirectoryState>(stored.State);
        var open = lineIds.Concat(otherIds).Order(StringComparer.Ordinal).Skip(FriendDirectory.PageSize).ToList();
        Assert.Equal(open.Count(id => !otherIds.Contains(id)) * PackedLineUserIds.BytesPerId, state.PackedLineUserIds?.Length);
        Assert.Equal(open.Where(otherIds.Contains), state.LineUserIds);
        Assert.Equal(lineIds.Concat(otherIds).Order(StringComparer.Ordinal), await ListAllAsync(directory));

        // A fresh activation (another channel, the same stored row) reads the two parts back as one ordered page.
        var copy = FriendDirectory.Bucket(cluster.Grains, NewChannel(), bucket);
        await storage.WriteStateAsync(FriendDirectory.BucketStateName, copy.GetGrainId(),
            new GrainState<FriendDirectoryState>(FriendDirectoryState.Of(IdPage.Load(null, open), 0, pack: true)));
        Assert.Equal(open, await ListAllAsync(copy));
    }

    private static List<string> IdsInBucket(int bucket, int count) =>
        [.. Enumerable.Range(0, 2_000_000).Select(i => $"U{i:x32}").Where(id => FriendDirectory.BucketOf(id) == bucket).Take(count)];

    private static List<string> OtherIdsInBucket(int bucket, int count) =>
        [.. Enumerable.Range(0, 2_000_000).Select(i => $"Uimported-{i}").Where(id => FriendDirectory.BucketOf(id) == bucket).Take(count)];

    private static async Task<List<string>> ListAllAsync(IFriendDirectoryGrain directory)
    {
        var listed = new List<string>();
        string? after = null;
        while (await directory.List(after, 100) is { IsEmpty: false } page)
        {
            listed.AddRange(page);
            after = page[^1];
        }

        return listed;
    }
}
