using System.Net;
using System.Net.Sockets;

namespace Stepcast.Tests.Infrastructure;

/// <summary>
/// Free loopback ports for servers the tests start in other processes (silos, PostgreSQL, Prism), which bind them
/// a moment later. They come from below Linux's ephemeral range (32768–60999): a port the kernel handed out for
/// "port 0" is one it may hand again, in that moment, to any outgoing connection of the busy test machine.
/// </summary>
public static class LoopbackPorts
{
    private const int First = 20000;
    private const int Count = 12000;

    // Each call moves on, so two servers started together never get the same port from this process.
    private static int _next = Random.Shared.Next(Count);

    public static int Free()
    {
        for (var attempt = 0; attempt < Count; attempt++)
        {
            var port = First + (int)((uint)Interlocked.Increment(ref _next) % Count);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try the next one.
            }
        }

        throw new InvalidOperationException($"No free loopback port in {First}–{First + Count - 1}.");
    }
}
