using Npgsql;

namespace Stepcast.Silo.Postgres;

/// <summary>How the batched PostgreSQL stores (grain state, reminders) group their statements.</summary>
public static class PostgresBatching
{
    /// <summary>Rows per statement: large enough to amortise a commit, small enough to keep a statement short.</summary>
    public const int MaxBatchSize = 256;

    /// <summary>
    /// Statements in flight per kind of statement; later requests queue and go in the next batch. Two, not more: each
    /// statement has a fixed cost in PostgreSQL, so fewer and larger batches left it more CPU; on the 2-core benchmark
    /// machine 2 beat 4 on throughput and on p99 latency, and 8 lost to both (benchmarks/history.md, session 11).
    /// </summary>
    public const int MaxStatementsInFlight = 2;

    /// <summary>
    /// The service id ($1) once per key of the batch ($2): the batch joins its table on the whole primary key with the
    /// service id as a column of the batch, never as a constant. Before a table has statistics the planner took
    /// "ServiceId = $1" for selective and read every row of the service per batch, which halved ingest in a fresh
    /// database (benchmarks/history.md).
    /// </summary>
    public const string ServiceIdPerKey = "array_fill($1::varchar, ARRAY[cardinality($2::text[])])";

    /// <summary>
    /// The data source of a batched store. Its statements join a batch of keys to a table by primary key, and a nested
    /// loop of index lookups is always the plan wanted; without statistics (a new table) the planner estimated a few
    /// hundred rows where there were tens of thousands, and hashed the whole table against each batch instead. So hash
    /// and merge joins, and sequential scans, are off on these connections only: the other statements here read one
    /// key or one ring range (which has its index).
    /// <para>
    /// The statements are prepared on each connection once used twice, and keep their first (generic) plan: their text
    /// never changes, a batch being arrays, and at 1,000 follows a second PostgreSQL spent more time planning them than
    /// running them (benchmarks/history.md, session 11). With the planner settings above, a plan made while the table
    /// was empty still looks rows up by key (tested). Behind PgBouncer, prepared statements need session pooling or
    /// its <c>max_prepared_statements</c> (docs/operations.md).
    /// </para>
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Options =
            $"{builder.Options} -c enable_hashjoin=off -c enable_mergejoin=off -c enable_seqscan=off -c plan_cache_mode=force_generic_plan".Trim();
        builder.MaxAutoPrepare = 16;
        builder.AutoPrepareMinUsages = 2;
        // Nothing here changes session state, so the pool need not reset a connection on its return: that reset was
        // six statements (RESET ALL, DISCARD …) sent with every batch.
        builder.NoResetOnClose = true;
        return NpgsqlDataSource.Create(builder.ConnectionString);
    }
}

internal interface IPendingStatement
{
    void Fail(Exception exception);
}

/// <summary>
/// Runs queued requests as batches, at most <see cref="PostgresBatching.MaxStatementsInFlight"/> at a time:
/// while they run, new requests queue, and the next free slot takes up to
/// <see cref="PostgresBatching.MaxBatchSize"/> of them at once (group commit).
/// </summary>
internal sealed class StatementBatcher<T>(Func<IReadOnlyList<T>, Task> execute, Func<T, string> keyOf, bool allowSameKey)
    where T : class, IPendingStatement
{
    private readonly Lock _gate = new();
    private readonly LinkedList<T> _queue = new();
    private int _inFlight;

    public void Enqueue(T request)
    {
        lock (_gate)
        {
            _queue.AddLast(request);
            if (_inFlight >= PostgresBatching.MaxStatementsInFlight)
            {
                return;
            }

            _inFlight++;
        }

        _ = Task.Run(DrainAsync);
    }

    private async Task DrainAsync()
    {
        while (TakeBatch() is { } batch)
        {
            try
            {
                await execute(batch);
            }
            catch (Exception exception)
            {
                // Whether PostgreSQL applied the statement is unknown: every caller sees the failure, and a grain whose
                // write failed starts again from what storage holds.
                foreach (var request in batch)
                {
                    request.Fail(exception);
                }
            }
        }
    }

    private List<T>? TakeBatch()
    {
        lock (_gate)
        {
            if (_queue.Count == 0)
            {
                _inFlight--;
                return null;
            }

            var batch = new List<T>(Math.Min(_queue.Count, PostgresBatching.MaxBatchSize));
            var keys = allowSameKey ? null : new HashSet<string>(StringComparer.Ordinal);
            var node = _queue.First;
            while (node is not null && batch.Count < PostgresBatching.MaxBatchSize)
            {
                var next = node.Next;
                // Two writes of one row in one statement cannot both check its version: the later waits a batch.
                if (keys is null || keys.Add(keyOf(node.Value)))
                {
                    batch.Add(node.Value);
                    _queue.Remove(node);
                }

                node = next;
            }

            return batch;
        }
    }
}
