using Stepcast.Silo.Operations;

namespace Stepcast.Tests.Operations;

/// <summary>
/// When a quiet silo collects its young generations (<see cref="QuietSpell"/>): only after it has stayed quiet long
/// enough, only with enough allocated since the runtime's own last collection, and once per such spell.
/// </summary>
public sealed class QuietSpellTests
{
    private const long MB = 1L << 20;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(500);

    private readonly QuietCollectionOptions _options = new()
    {
        QuietFor = TimeSpan.FromSeconds(2), QuietBelowCores = 0.1, MinimumYoungBytes = 32 * MB,
    };

    private TimeSpan _cpu = TimeSpan.FromSeconds(10);
    private long _allocated = 1_000 * MB;
    private int _collections = 7;

    /// <summary>Readings half a second apart, using <paramref name="cores"/> and allocating <paramref name="mbPerTick"/> each; true if any asked to collect.</summary>
    private List<bool> Run(QuietSpell spell, int ticks, double cores, long mbPerTick = 0)
    {
        var answers = new List<bool>();
        for (var i = 0; i < ticks; i++)
        {
            _cpu += Tick * cores;
            _allocated += mbPerTick * MB;
            answers.Add(spell.Observe(Tick, _cpu, _allocated, _collections));
        }

        return answers;
    }

    private QuietSpell Started()
    {
        var spell = new QuietSpell(_options);
        Assert.False(spell.Observe(TimeSpan.Zero, _cpu, _allocated, _collections));
        return spell;
    }

    [Fact]
    public void A_lull_after_a_burst_collects_once_it_has_lasted_the_quiet_time()
    {
        var spell = Started();
        Assert.DoesNotContain(true, Run(spell, 4, cores: 1.8, mbPerTick: 20));

        var lull = Run(spell, 6, cores: 0.02);

        // Quiet for 2 s is the fourth reading of the lull; not before.
        Assert.Equal([false, false, false, true, true, true], lull);
    }

    [Fact]
    public void A_busy_silo_never_collects_however_much_it_allocates()
    {
        var spell = Started();

        Assert.DoesNotContain(true, Run(spell, 40, cores: 0.5, mbPerTick: 50));
    }

    [Fact]
    public void A_lull_with_little_allocated_since_the_runtimes_own_collection_is_left_alone()
    {
        var spell = Started();
        Run(spell, 4, cores: 1.5, mbPerTick: 20);

        // The runtime collected on its own at the end of the burst: the 80 MB before it are not young any more.
        _collections++;
        Run(spell, 1, cores: 1.5, mbPerTick: 10);
        Assert.DoesNotContain(true, Run(spell, 10, cores: 0.02, mbPerTick: 1));

        // Enough allocated since, slowly, while still quiet: now it is worth one.
        Assert.Contains(true, Run(spell, 10, cores: 0.02, mbPerTick: 3));
    }

    [Fact]
    public void After_collecting_the_next_collection_waits_for_new_young_bytes_and_a_new_spell()
    {
        var spell = Started();
        Run(spell, 4, cores: 1.8, mbPerTick: 20);
        Assert.Contains(true, Run(spell, 4, cores: 0.02));

        _collections++;
        spell.Collected(_cpu, _allocated, _collections);
        Assert.DoesNotContain(true, Run(spell, 20, cores: 0.02));

        // A burst of little allocation and a lull: still under the minimum, nothing.
        Run(spell, 2, cores: 1.8, mbPerTick: 10);
        Assert.DoesNotContain(true, Run(spell, 8, cores: 0.02));

        // More: the next lull collects, again only after the quiet time.
        Run(spell, 2, cores: 1.8, mbPerTick: 10);
        Assert.Equal([false, false, false, true], Run(spell, 4, cores: 0.02));
    }

    [Fact]
    public void A_moment_of_work_inside_a_lull_starts_the_quiet_time_over()
    {
        var spell = Started();
        Run(spell, 4, cores: 1.8, mbPerTick: 20);
        Assert.DoesNotContain(true, Run(spell, 3, cores: 0.02));

        Assert.DoesNotContain(true, Run(spell, 1, cores: 0.4));

        Assert.Equal([false, false, false, true], Run(spell, 4, cores: 0.02));
    }
}
