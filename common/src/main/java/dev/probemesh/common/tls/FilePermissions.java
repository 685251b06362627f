package dev.probemesh.common.tls;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Writes credential files so that a secret is never readable by others, not even for a moment:
 * the temporary file is created 0600 (not chmod-ed afterwards) and renamed over the target, so a
 * reader sees the old file or the new one, never half of one.
 */
public final class FilePermissions {
    private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    private static final Set<PosixFilePermission> FILE_0600 = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> FILE_0644 = PosixFilePermissions.fromString("rw-r--r--");
    private static final Set<PosixFilePermission> DIR_0700 = PosixFilePermissions.fromString("rwx------");

    private FilePermissions() {
    }

    /** Writes a secret (private key, token): file 0600; a parent it creates is 0700. */
    public static void writePrivate(Path file, byte[] content) throws IOException {
        write(file, content, FILE_0600);
    }

    /** Writes a public file (certificate): 0644, still atomically. */
    public static void writePublic(Path file, byte[] content) throws IOException {
        write(file, content, FILE_0644);
    }

    /** Creates the directory (and missing parents) as 0700; an existing directory is left as is. */
    public static Path createPrivateDirectories(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath();
        if (Files.isDirectory(abs)) {
            return abs;
        }
        if (abs.getParent() != null) {
            createPrivateDirectories(abs.getParent());
        }
        try {
            if (POSIX) {
                Files.createDirectory(abs, PosixFilePermissions.asFileAttribute(DIR_0700));
            } else {
                Files.createDirectory(abs);
            }
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // another writer made it between the check and the create: fine
        }
        return abs;
    }

    private static void write(Path file, byte[] content, Set<PosixFilePermission> perms) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = createPrivateDirectories(target.getParent());
        FileAttribute<?>[] attrs = POSIX
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(perms)}
                : new FileAttribute<?>[0];
        Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp", attrs);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true); // the rename must not reach the disk before the bytes do
            }
            if (POSIX) {
                // createTempFile honours the umask; set the exact mode the caller asked for
                Files.setPosixFilePermissions(tmp, perms);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
