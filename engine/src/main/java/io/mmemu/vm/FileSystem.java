package io.mmemu.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import io.mmemu.phys.PhysicalMemory;

/**
 * The files mappings name, by path: one {@link MappedFile} (inode and page cache) per distinct path,
 * shared by every address space of a replay, so a library mapped by two processes is one file.
 * <p>
 * Identity and size, in order of preference: what a /proc/PID/maps file said about the path
 * ({@link #known}); the real file's, when the path exists on this machine (its device and inode
 * numbers, so replayed maps lines read as the kernel's would on the machine that recorded them);
 * otherwise a synthetic identity that is stable for the path within a run (device fe:00, inodes
 * counted from 1) and an unbounded size. Contents always come from the real file when it exists,
 * else from {@link MappedFile#patternWord}. mmemu never writes to real files: what a program
 * writes through a shared mapping lives in the page cache until the file system is closed.
 */
public final class FileSystem implements AutoCloseable
{
    /** The device of files that exist nowhere here: an unassigned block major. */
    public static final int SYNTHETIC_DEV = Dev.make(0xfe, 0);
    private static final String MEMFD_PREFIX = "/memfd:";
    /** What a file of unknown size is taken to hold: no fault is past its end. */
    private static final long UNBOUNDED = Long.MAX_VALUE >>> 1;

    private final Map<String, MappedFile> files = new HashMap<>();
    private final PhysicalMemory memory;

    /**
     * Files whose page caches live in {@code memory}. The file system holds every file it knows open
     * (as the kernel's page cache outlives mappings), until {@link #close}.
     */
    public FileSystem(final PhysicalMemory memory)
    {
        this.memory = memory;
    }

    /** Releases every cached page the files hold; the mappings of them must be gone. */
    @Override
    public synchronized void close()
    {
        for (final MappedFile file : files.values())
        {
            file.close(memory);
        }
        files.clear();
    }

    /** {@code "P (deleted)"}: how strace and maps name a file P after its unlink. */
    private static boolean isUnlinked(final String path)
    {
        return path.endsWith(MappedFile.DELETED);
    }

    private static String linkedPath(final String path)
    {
        return path.substring(0, path.length() - MappedFile.DELETED.length());
    }

    private static MappedFile unlinked(final MappedFile file)
    {
        file.markDeleted();
        return file;
    }

    private MappedFile held(final MappedFile file)
    {
        file.open();
        return file;
    }
    private long nextSyntheticInode = 1;

    /** Records what a maps line said about {@code path}, unless the path is known already. */
    public synchronized MappedFile known(final String path, final int dev, final long inode, final long minimumSize)
    {
        if (isUnlinked(path))
        {
            return unlinked(known(linkedPath(path), dev, inode, minimumSize));
        }
        return files.computeIfAbsent(path, p ->
        {
            final Path real = realFile(p);
            final long size = real != null ? sizeOf(real, minimumSize) : Math.max(minimumSize, UNBOUNDED);
            return held(MappedFile.of(p, dev, inode, size, real, !MappedFile.DEV_ZERO.equals(p)));
        });
    }

    /**
     * The file at {@code path}, as this run has known it, or as the machine or a synthetic identity
     * gives it. {@code "P (deleted)"}, strace's and maps' name for an unlinked file, is the file P
     * marked deleted: mappings made before the unlink show it deleted too, as the kernel's do.
     * memfd files ({@code /memfd:NAME}) live on shmem's device, 00:01.
     */
    public synchronized MappedFile lookup(final String path)
    {
        if (isUnlinked(path))
        {
            return unlinked(lookup(linkedPath(path)));
        }
        final MappedFile existing = files.get(path);
        if (existing != null)
        {
            return existing;
        }
        final Path real = realFile(path);
        int dev = path.startsWith(MEMFD_PREFIX) ? MappedFile.SHMEM_DEV : SYNTHETIC_DEV;
        long inode;
        long size = UNBOUNDED;
        if (real == null && isDirectory(path))
        {
            final MappedFile directory = held(MappedFile.unmappable(path, SYNTHETIC_DEV, nextSyntheticInode++));
            files.put(path, directory);
            return directory;
        }
        if (real != null)
        {
            try
            {
                final long stDev = ((Number)Files.getAttribute(real, "unix:dev")).longValue();
                inode = ((Number)Files.getAttribute(real, "unix:ino")).longValue();
                // glibc's st_dev encoding: minor's low byte, major, then minor's high bits
                final int major = (int)(((stDev >>> 8) & 0xfff) | ((stDev >>> 32) & ~0xfffL));
                final int minor = (int)((stDev & 0xff) | ((stDev >>> 12) & ~0xffL));
                dev = Dev.make(major & 0xfff, minor & 0xfffff);
                size = sizeOf(real, 0);
            }
            catch (final IOException | UnsupportedOperationException | IllegalArgumentException ex)
            {
                inode = nextSyntheticInode++;
            }
        }
        else
        {
            inode = nextSyntheticInode++;
        }
        final MappedFile file = held(MappedFile.of(path, dev, inode, size, real, !MappedFile.DEV_ZERO.equals(path)));
        files.put(path, file);
        return file;
    }

    private static boolean isDirectory(final String path)
    {
        try
        {
            return path.startsWith("/") && Files.isDirectory(Path.of(path));
        }
        catch (final RuntimeException ex)
        {
            return false;
        }
    }

    private static Path realFile(final String path)
    {
        if (path.isEmpty() || path.charAt(0) != '/' || isUnlinked(path))
        {
            return null;
        }
        try
        {
            final Path p = Path.of(path);
            return Files.isRegularFile(p) || MappedFile.DEV_ZERO.equals(path) && Files.exists(p, LinkOption.NOFOLLOW_LINKS) ? p : null;
        }
        catch (final RuntimeException ex)
        {
            return null;
        }
    }

    private static long sizeOf(final Path real, final long minimum)
    {
        if (!Files.isRegularFile(real))
        {
            return UNBOUNDED;
        }
        try
        {
            return Files.size(real);
        }
        catch (final IOException ex)
        {
            return Math.max(minimum, UNBOUNDED);
        }
    }
}
