using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using Stepcast.Silo.Embedded;

namespace Stepcast.Tests.Embedded;

/// <summary>The embedded topology's grain storage keeps the optimistic check every grain relies on.</summary>
public sealed class InProcessGrainStorageTests
{
    private readonly InProcessGrainStorage _storage = new(
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>());

    private readonly GrainId _grain = GrainId.Create("stepcast-test", "U" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_written_state_reads_back_with_its_version()
    {
        var absent = new GrainState<List<string>>(["untouched"]);
        await _storage.ReadStateAsync("friend", _grain, absent);
        Assert.False(absent.RecordExists);
        Assert.Null(absent.ETag);

        List<string> written = ["welcome", "coupon"];
        var writer = new GrainState<List<string>>(written);
        await _storage.WriteStateAsync("friend", _grain, writer);
        written.Add("changed after the write");

        var reader = new GrainState<List<string>>([]);
        await _storage.ReadStateAsync("friend", _grain, reader);
        Assert.True(reader.RecordExists);
        Assert.Equal(writer.ETag, reader.ETag);
        Assert.Equal(["welcome", "coupon"], reader.State);
    }

    [Fact]
    public async Task A_write_from_a_stale_version_is_refused_and_changes_nothing()
    {
        var first = new GrainState<string>("one");
        await _storage.WriteStateAsync("friend", _grain, first);
        var stale = new GrainState<string>("stale") { ETag = first.ETag };
        first.State = "two";
        await _storage.WriteStateAsync("friend", _grain, first);

        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.WriteStateAsync("friend", _grain, stale));
        // A second activation that never read the stored state may not create it over the first one's either.
        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.WriteStateAsync("friend", _grain, new GrainState<string>("new")));

        var reader = new GrainState<string>();
        await _storage.ReadStateAsync("friend", _grain, reader);
        Assert.Equal("two", reader.State);
    }

    [Fact]
    public async Task A_cleared_state_reads_as_absent_and_refuses_writers_from_before_the_clear()
    {
        var state = new GrainState<string>("kept");
        await _storage.WriteStateAsync("friend", _grain, state);
        var before = state.ETag;
        await _storage.ClearStateAsync("friend", _grain, state);
        Assert.False(state.RecordExists);

        var reader = new GrainState<string>();
        await _storage.ReadStateAsync("friend", _grain, reader);
        Assert.False(reader.RecordExists);
        Assert.Equal(state.ETag, reader.ETag);

        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            _storage.WriteStateAsync("friend", _grain, new GrainState<string>("old writer") { ETag = before }));
        reader.State = "after";
        await _storage.WriteStateAsync("friend", _grain, reader);
        await _storage.ReadStateAsync("friend", _grain, reader);
        Assert.Equal("after", reader.State);
    }

    [Fact]
    public async Task State_names_and_grains_are_kept_apart()
    {
        var other = GrainId.Create("stepcast-other", _grain.Key.ToString()!);
        await _storage.WriteStateAsync("friend", _grain, new GrainState<string>("friend of the grain"));
        await _storage.WriteStateAsync("bucket", _grain, new GrainState<string>("bucket of the grain"));
        await _storage.WriteStateAsync("friend", other, new GrainState<string>("another grain type"));

        foreach (var (name, grain, expected) in new[] { ("friend", _grain, "friend of the grain"), ("bucket", _grain, "bucket of the grain"), ("friend", other, "another grain type") })
        {
            var reader = new GrainState<string>();
            await _storage.ReadStateAsync(name, grain, reader);
            Assert.Equal(expected, reader.State);
        }
    }

    [Fact]
    public async Task Of_concurrent_writers_from_one_version_exactly_one_wins()
    {
        var start = new GrainState<int>(0);
        await _storage.WriteStateAsync("counter", _grain, start);

        var outcomes = await Task.WhenAll(Enumerable.Range(1, 64).Select(i => Task.Run(async () =>
        {
            try
            {
                await _storage.WriteStateAsync("counter", _grain, new GrainState<int>(i) { ETag = start.ETag });
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        })));

        Assert.Single(outcomes, won => won);
    }
}
